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


@pytest.fixture(scope="module")
def distilbert(tokenizer):
    """Stands in for distilbert-base-uncased-finetuned-sst-2-english: a tiny DistilBERT taught
    NEGATIVE/POSITIVE on 16 sentences (40 full-batch steps, ~1 s), so that it reads "love" and
    "like" as POSITIVE."""
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
