"""The transformers-interpret compatibility contract of `textlens.attribution.shim`.

Part 1 is transformers-interpret 0.10's own `test/text/test_sequence_classification_explainer.py`
(github.com/cdpierse/transformers-interpret, 28 tests), run against the shim. Adapted only where
it must be: its hub models are swapped for tiny models built here (a DistilBERT sentiment
classifier trained for a second on 16 sentences, a random 4-class BERT, a random single-logit
BERT cross-encoder, all with the MiniLM tokenizer, whose vocabulary is bert-base-uncased's, so
the expected tokens are upstream's), and one test that needs a model without position ids uses a
RoFormer (in transformers 5 DistilBERT takes position ids). The assertions are upstream's.

Part 2 checks the shim against transformers-interpret itself (both installed) and textlens."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from textlens.attribution.shim import (  # noqa: E402
    PairwiseSequenceClassificationExplainer,
    SequenceClassificationExplainer,
)
from textlens.attribution.shim.errors import (  # noqa: E402
    AttributionTypeNotSupportedError,
    InputIdsNotCalculatedError,
)
from textlens.errors import TextlensError  # noqa: E402

POSITIVE = ["I love you", "I like it", "a great film", "we love this", "good and fun",
            "I like you a lot", "wonderful", "love it"]
NEGATIVE = ["I hate you", "I dislike it", "an awful film", "we hate this", "bad and dull",
            "I hate it a lot", "terrible", "hate it"]


def _tokenizer():
    from textlens.models.loading import encoder_path, load_tokenizer

    return load_tokenizer(encoder_path())


def _labels(names: list[str]) -> dict:
    return {"num_labels": len(names), "id2label": dict(enumerate(names)),
            "label2id": {n: i for i, n in enumerate(names)}}


def _tiny(kind: str, names: list[str], tokenizer, seed: int):
    torch.manual_seed(seed)
    size = {"vocab_size": len(tokenizer), "max_position_embeddings": 512}
    bert_like = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 64, **size}
    if kind == "distilbert":
        config = transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                               **size, **_labels(names))
        model = transformers.DistilBertForSequenceClassification(config)
    elif kind == "roformer":
        config = transformers.RoFormerConfig(embedding_size=32, **bert_like, **_labels(names))
        model = transformers.RoFormerForSequenceClassification(config)
    else:
        config = transformers.BertConfig(**bert_like, **_labels(names))
        model = transformers.BertForSequenceClassification(config)
    return model.eval()


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


def _sentiment_distilbert(tokenizer):
    """A tiny DistilBERT taught NEGATIVE/POSITIVE on 16 sentences (40 full-batch steps, ~1 s),
    so that it reads "love" and "like" as POSITIVE."""
    model = _tiny("distilbert", ["NEGATIVE", "POSITIVE"], tokenizer, seed=0)
    batch = tokenizer(POSITIVE + NEGATIVE, padding=True, return_tensors="pt")
    labels = torch.tensor([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def distilbert(tokenizer):
    """Stands in for distilbert-base-uncased-finetuned-sst-2-english."""
    return _sentiment_distilbert(tokenizer)


@pytest.fixture(scope="module")
def bert(tokenizer):
    """Stands in for mrm8488/bert-mini-finetuned-age_news-classification (4 classes)."""
    return _tiny("bert", ["World", "Sports", "Business", "Sci/Tech"], tokenizer, seed=1)


@pytest.fixture(scope="module")
def cross_encoder(tokenizer):
    """Stands in for cross-encoder/ms-marco-TinyBERT-L-2-v2: one logit, label LABEL_0."""
    return _tiny("bert", ["LABEL_0"], tokenizer, seed=2)


@pytest.fixture(scope="module")
def no_position_ids(tokenizer):
    """A classifier whose forward takes no position_ids (rotary positions)."""
    return _tiny("roformer", ["NEGATIVE", "POSITIVE"], tokenizer, seed=3)


# ---------------------------------------------------------------------------------------------
# Part 1: transformers-interpret's tests (names and assertions as upstream)
# ---------------------------------------------------------------------------------------------


def test_sequence_classification_explainer_init_distilbert(distilbert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    assert seq_explainer.attribution_type == "lig"
    assert seq_explainer.label2id == distilbert.config.label2id
    assert seq_explainer.id2label == distilbert.config.id2label
    assert seq_explainer.attributions is None


def test_sequence_classification_explainer_init_bert(bert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(bert, tokenizer)
    assert seq_explainer.attribution_type == "lig"
    assert seq_explainer.label2id == bert.config.label2id
    assert seq_explainer.id2label == bert.config.id2label
    assert seq_explainer.attributions is None


def test_sequence_classification_explainer_init_attribution_type_error(distilbert, tokenizer):
    with pytest.raises(AttributionTypeNotSupportedError):
        SequenceClassificationExplainer(
            distilbert,
            tokenizer,
            attribution_type="UNSUPPORTED",
        )


def test_sequence_classification_explainer_init_with_custom_labels(distilbert, tokenizer):
    labels = ["label_1", "label_2"]
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer, custom_labels=labels)
    assert len(labels) == len(seq_explainer.id2label)
    assert len(labels) == len(seq_explainer.label2id)
    for (_k1, v1), (k2, _v2) in zip(seq_explainer.id2label.items(),
                                    seq_explainer.label2id.items(), strict=False):
        assert v1 in labels and k2 in labels


def test_sequence_classification_explainer_init_custom_labels_size_error(distilbert, tokenizer):
    with pytest.raises(ValueError):
        SequenceClassificationExplainer(distilbert, tokenizer, custom_labels=["few_labels"])


def test_sequence_classification_encode(distilbert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)

    _input = "this is a sample of text to be encoded"
    tokens = seq_explainer.encode(_input)
    assert isinstance(tokens, list)
    assert tokens[0] != seq_explainer.cls_token_id
    assert tokens[-1] != seq_explainer.sep_token_id
    assert len(tokens) >= len(_input.split(" "))


def test_sequence_classification_decode(distilbert, tokenizer):
    explainer_string = "I love you , I hate you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    input_ids, _, _ = seq_explainer._make_input_reference_pair(explainer_string)
    decoded = seq_explainer.decode(input_ids)
    assert decoded[0] == seq_explainer.tokenizer.cls_token
    assert decoded[-1] == seq_explainer.tokenizer.sep_token
    assert " ".join(decoded[1:-1]) == explainer_string.lower()


def test_sequence_classification_run_text_given(distilbert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    word_attributions = seq_explainer._run("I love you, I just love you")
    assert isinstance(word_attributions, list)

    actual_tokens = [token for token, _ in word_attributions]
    expected_tokens = [
        "[CLS]",
        "i",
        "love",
        "you",
        ",",
        "i",
        "just",
        "love",
        "you",
        "[SEP]",
    ]
    assert actual_tokens == expected_tokens


def test_sequence_classification_explain_on_cls_index(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer._run(explainer_string, index=0)
    assert seq_explainer.predicted_class_index == 1
    assert seq_explainer.predicted_class_index != seq_explainer.selected_index
    assert seq_explainer.predicted_class_name != seq_explainer.id2label[seq_explainer.selected_index]
    assert seq_explainer.predicted_class_name != "NEGATIVE"
    assert seq_explainer.predicted_class_name == "POSITIVE"


def test_sequence_classification_explain_position_embeddings(bert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(bert, tokenizer)
    pos_attributions = seq_explainer(explainer_string, embedding_type=1)
    word_attributions = seq_explainer(explainer_string, embedding_type=0)

    assert pos_attributions != word_attributions


def test_sequence_classification_explain_position_embeddings_not_available(no_position_ids,
                                                                           tokenizer):
    # Adapted: upstream uses DistilBERT, whose forward took no position_ids before transformers 5.
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(no_position_ids, tokenizer)
    pos_attributions = seq_explainer(explainer_string, embedding_type=1)
    word_attributions = seq_explainer(explainer_string, embedding_type=0)

    assert pos_attributions == word_attributions


def test_sequence_classification_explain_embedding_incorrect_value(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)

    word_attributions = seq_explainer(explainer_string, embedding_type=0)
    incorrect_word_attributions = seq_explainer(explainer_string, embedding_type=-42)

    assert incorrect_word_attributions == word_attributions


def test_sequence_classification_predicted_class_name_no_id2label_defaults_idx(distilbert,
                                                                               tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer.id2label = {"test": "value"}
    seq_explainer._run(explainer_string)
    assert seq_explainer.predicted_class_name == 1


def test_sequence_classification_explain_on_cls_name(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer._run(explainer_string, class_name="NEGATIVE")
    assert seq_explainer.predicted_class_index == 1
    assert seq_explainer.predicted_class_index != seq_explainer.selected_index
    assert seq_explainer.predicted_class_name != seq_explainer.id2label[seq_explainer.selected_index]
    assert seq_explainer.predicted_class_name != "NEGATIVE"
    assert seq_explainer.predicted_class_name == "POSITIVE"


def test_sequence_classification_explain_on_cls_name_with_custom_labels(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(
        distilbert, tokenizer, custom_labels=["sad", "happy"]
    )
    seq_explainer._run(explainer_string, class_name="sad")
    assert seq_explainer.predicted_class_index == 1
    assert seq_explainer.predicted_class_index != seq_explainer.selected_index
    assert seq_explainer.predicted_class_name != seq_explainer.id2label[seq_explainer.selected_index]
    assert seq_explainer.predicted_class_name != "sad"
    assert seq_explainer.predicted_class_name == "happy"


def test_sequence_classification_explain_on_cls_name_not_in_dict(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer._run(explainer_string, class_name="UNKNOWN")
    assert seq_explainer.selected_index == 1
    assert seq_explainer.predicted_class_index == 1


def test_sequence_classification_explain_raises_on_input_ids_not_calculated(distilbert, tokenizer):
    with pytest.raises(InputIdsNotCalculatedError):
        seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
        seq_explainer.predicted_class_index  # noqa: B018


def test_sequence_classification_word_attributions(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer(explainer_string)
    assert isinstance(seq_explainer.word_attributions, list)
    for element in seq_explainer.word_attributions:
        assert isinstance(element, tuple)


def test_sequence_classification_word_attributions_not_calculated_raises(distilbert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    with pytest.raises(ValueError):
        seq_explainer.word_attributions  # noqa: B018


def test_sequence_classification_explainer_str(distilbert, tokenizer):
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    s = "SequenceClassificationExplainer("
    s += f"\n\tmodel={distilbert.__class__.__name__},"
    s += f"\n\ttokenizer={tokenizer.__class__.__name__},"
    s += "\n\tattribution_type='lig',"
    s += ")"
    assert s == seq_explainer.__str__()


def test_sequence_classification_viz(distilbert, tokenizer):
    explainer_string = "I love you , I like you"
    seq_explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    seq_explainer(explainer_string)
    seq_explainer.visualize()


QUESTION = "How many people live in berlin?"
ANSWER = "there are 1000000 people living in berlin"


def test_pairwise_sequence_classification(cross_encoder, tokenizer):
    string1 = QUESTION
    string2 = ANSWER
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    attr = explainer(string1, string2)
    assert explainer.text1 == string1
    assert explainer.text2 == string2
    assert attr


def test_pairwise_sequence_classification_flip_attribute_sign(cross_encoder, tokenizer):
    string1 = QUESTION
    string2 = "this string is not related to the question."
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    original_sign_attr = explainer(string1, string2)
    flipped_sign_attr = explainer(string1, string2, flip_sign=True)

    for flipped_wa, original_wa in zip(flipped_sign_attr, original_sign_attr, strict=False):
        assert flipped_wa[1] == -original_wa[1]


def test_pairwise_sequence_classification_viz(cross_encoder, tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    explainer(QUESTION, ANSWER)
    explainer.visualize()


def test_pairwise_sequence_classification_custom_steps(cross_encoder, tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    explainer(QUESTION, ANSWER, n_steps=1)


def test_pairwise_sequence_classification_internal_batch_size(cross_encoder, tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    explainer(QUESTION, ANSWER, internal_batch_size=1)


def test_pairwise_sequence_classification_position_embeddings(cross_encoder, tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)

    explainer(QUESTION, ANSWER, embedding_type=1)


def test_pairwise_sequence_classification_position_embeddings_not_accepted(cross_encoder,
                                                                           tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)
    explainer.accepts_position_ids = False

    explainer(QUESTION, ANSWER, embedding_type=1)


# ---------------------------------------------------------------------------------------------
# Part 2: the shim against transformers-interpret itself and against textlens
# ---------------------------------------------------------------------------------------------

SENTENCES = ["I love you , I like you", "a great film , I hate the end"]


def _scores(pairs: list[tuple[str, float]]) -> np.ndarray:
    return np.array([s for _, s in pairs])


def _upstream(model, tokenizer, text: str, embedding_type: int, fix_token_types: bool = False):
    """transformers-interpret's own output. `fix_token_types`: give the final [SEP] of a single
    text token type 0, as the tokenizer does (upstream gives it 1: its separator index is one
    short), to show that this is the only difference."""
    ti = pytest.importorskip("transformers_interpret")
    explainer = ti.SequenceClassificationExplainer(model, tokenizer)
    if fix_token_types:
        types = explainer._make_input_reference_token_type_pair
        explainer._make_input_reference_token_type_pair = (
            lambda ids, sep_idx=0: types(ids, sep_idx=ids.size(1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return explainer(text, embedding_type=embedding_type)


@pytest.mark.parametrize("embedding_type", [0, 1])
def test_scores_agree_with_transformers_interpret(distilbert, tokenizer, embedding_type):
    """With upstream's rule (50 Gauss-Legendre nodes) the numbers are upstream's to 4 decimals
    (word and position embeddings; measured max difference < 5e-5); with textlens's adaptive
    default the ranking and the signs of the tokens that matter are, and the sum is certified
    (upstream's 50 nodes miss it by 14% on one of these in position mode)."""
    for text in SENTENCES:
        theirs = _upstream(distilbert, tokenizer, text, embedding_type)
        fixed = SequenceClassificationExplainer(distilbert, tokenizer)(
            text, embedding_type=embedding_type, n_steps=50)
        explainer = SequenceClassificationExplainer(distilbert, tokenizer)
        adaptive = explainer(text, embedding_type=embedding_type)
        assert [t for t, _ in fixed] == [t for t, _ in theirs] == [t for t, _ in adaptive]
        np.testing.assert_allclose(_scores(fixed), _scores(theirs), atol=1e-3)
        big = np.abs(_scores(theirs)) > 0.05
        assert np.array_equal(np.sign(_scores(adaptive)[big]), np.sign(_scores(theirs)[big]))
        assert list(np.argsort(-_scores(adaptive))[:3]) == list(np.argsort(-_scores(theirs))[:3])
        assert explainer.attributions.explanation.completeness_error < 0.01


@pytest.mark.parametrize("which", ["bert", "cross_encoder"])
def test_bert_scores_differ_from_upstream_only_by_its_token_types(request, tokenizer, which):
    """On BERT (4 classes, and one logit: sigmoid), with upstream's [SEP] token type corrected,
    word and position attributions are upstream's; uncorrected they differ slightly."""
    model = request.getfixturevalue(which)
    text = SENTENCES[0]
    for embedding_type in (0, 1):
        ours = _scores(SequenceClassificationExplainer(model, tokenizer)(
            text, embedding_type=embedding_type, n_steps=50))
        fixed = _scores(_upstream(model, tokenizer, text, embedding_type, fix_token_types=True))
        np.testing.assert_allclose(ours, fixed, atol=1e-3)
        as_is = _scores(_upstream(model, tokenizer, text, embedding_type))
        assert 1e-6 < np.abs(ours - as_is).max() < 0.1


def test_scores_are_textlens_explain_scores(bert, tokenizer):
    """A plain BERT classifier goes through the same engine as `textlens.explain`."""
    import textlens
    from textlens.models.loading import LoadedModel

    loaded = LoadedModel(bert, tokenizer, "classification", tuple(bert.config.id2label.values()),
                         torch.device("cpu"), "tiny")
    explainer = SequenceClassificationExplainer(bert, tokenizer)
    explainer(SENTENCES[0], index=2)
    (exp,) = textlens.explain([SENTENCES[0]], model=loaded, target=2, progress=False)
    mine = explainer.attributions.explanation
    assert mine.tokens == exp.tokens and mine.steps == exp.steps
    np.testing.assert_allclose(mine.scores, exp.scores, rtol=1e-6, atol=1e-12)
    assert explainer.selected_index == 2 and mine.target == exp.target


def test_single_logit_pair_explains_the_sigmoid(cross_encoder, tokenizer):
    explainer = PairwiseSequenceClassificationExplainer(cross_encoder, tokenizer)
    pairs = explainer(QUESTION, ANSWER)
    batch = tokenizer(QUESTION, ANSWER, return_tensors="pt")
    with torch.no_grad():
        sigmoid = torch.sigmoid(cross_encoder(**batch).logits)[0, 0].item()
    exp = explainer.attributions.explanation
    assert explainer.predicted_class_index == 0 and explainer.predicted_class_name == "LABEL_0"
    assert explainer.pred_probs == pytest.approx(sigmoid, rel=1e-5)
    assert exp.output == pytest.approx(sigmoid, rel=1e-5)
    assert exp.completeness_error < 0.01  # sum of raw scores = sigmoid(x) - sigmoid(baseline)
    assert [t for t, _ in pairs] == tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    assert exp.text == f"{QUESTION}\n{ANSWER}"
    assert " ".join(exp.words) == " ".join(tokenizer.backend_tokenizer.pre_tokenizer
                                           .pre_tokenize_str(QUESTION + " " + ANSWER)[i][0]
                                           for i in range(len(exp.words)))
    flipped = explainer.attributions
    explainer(QUESTION, ANSWER, flip_sign=True)
    assert explainer.attributions.explanation.output == pytest.approx(1 - sigmoid, rel=1e-5)
    assert flipped.explanation.scores == tuple(-s for s in explainer.attributions.explanation.scores)


def test_position_attributions_start_from_position_zero(bert, tokenizer):
    """Position mode runs the real model at the input (F(x) is the prediction) and integrates
    from every token at position 0 (checked independently: that input's probability)."""
    explainer = SequenceClassificationExplainer(bert, tokenizer)
    explainer(SENTENCES[1], embedding_type=1)
    exp = explainer.attributions.explanation
    batch = tokenizer(SENTENCES[1], return_tensors="pt")
    k = explainer.selected_index
    with torch.no_grad():
        at_input = torch.softmax(bert(**batch).logits, -1)[0, k].item()
        at_zero = torch.softmax(bert(**batch, position_ids=torch.zeros_like(batch["input_ids"]))
                                .logits, -1)[0, k].item()
    assert exp.method == "ig (position embeddings)"
    assert exp.output == pytest.approx(at_input, rel=1e-5)
    assert exp.baseline_output == pytest.approx(at_zero, rel=1e-5)
    assert exp.scores[0] == 0.0  # [CLS] is at position 0 in both


def test_model_mode_and_weights_left_as_found(distilbert, tokenizer):
    explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    expected = explainer(SENTENCES[0], embedding_type=1)
    probability = explainer.pred_probs
    distilbert.train()
    try:
        assert explainer(SENTENCES[0], embedding_type=1) == expected  # no dropout while explaining
        assert explainer.pred_probs == probability
        assert distilbert.training
    finally:
        distilbert.eval()
    assert all(p.requires_grad for p in distilbert.parameters())


def test_internal_batch_size_changes_passes_not_scores(distilbert, tokenizer):
    whole = _scores(SequenceClassificationExplainer(distilbert, tokenizer)(SENTENCES[1]))
    explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    small = _scores(explainer(SENTENCES[1], internal_batch_size=1))
    assert explainer.internal_batch_size == 1
    np.testing.assert_allclose(small, whole, atol=1e-6)


def test_errors_name_problem_and_fix(distilbert, tokenizer):
    with pytest.raises(AttributionTypeNotSupportedError, match="lig") as bad_type:
        SequenceClassificationExplainer(distilbert, tokenizer, attribution_type="shap")
    assert isinstance(bad_type.value, TextlensError) and bad_type.value.fix
    with pytest.raises(ValueError, match="pass 2 labels") as bad_labels:
        SequenceClassificationExplainer(distilbert, tokenizer, custom_labels=["a", "b", "c"])
    assert isinstance(bad_labels.value, TextlensError)
    explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    with pytest.raises(TextlensError, match="call the explainer"):
        explainer.visualize()
    with pytest.raises(TextlensError, match="out of range"):
        explainer(SENTENCES[0], index=5)
    with pytest.raises(TextlensError, match="[Ee]mpty"):
        explainer("   ")
    with pytest.raises(TextlensError, match="one text per call"):
        explainer(SENTENCES)
    with pytest.raises(TextlensError, match="512"):
        explainer("word " * 600)
    with pytest.warns(UserWarning, match="UNKNOWN") as caught:
        explainer(SENTENCES[0], class_name="UNKNOWN")
    assert caught[0].filename == __file__  # the warning points at the caller


def test_visualize_escapes_text_and_writes_html(distilbert, tokenizer, tmp_path):
    explainer = SequenceClassificationExplainer(distilbert, tokenizer)
    explainer("<script>alert(1)</script> I love you")
    page = explainer.visualize(str(tmp_path / "page"), true_class="<b>POSITIVE</b>")
    assert "<script" not in page and "<b>" not in page
    shown = re.sub(r"<[^>]+>", "", page)  # the text a reader sees, still escaped
    assert "&lt;script&gt;alert ( 1 ) &lt;/script&gt; I love you" in shown
    assert "&lt;b&gt;POSITIVE&lt;/b&gt;" in shown
    assert page.data == page == (tmp_path / "page.html").read_text()
    assert page._repr_html_() == page
    assert "probability of POSITIVE" in page and "love" in page
