"""Model loading, saving, input checks, prediction and QA span plumbing on tiny random BERTs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.data import Answer, QAExample
from textlens.errors import InputError, ModelError
from textlens.models import load_model, save_model
from textlens.models.inputs import as_text, check_length
from textlens.models.predict import length_batches, predict_classification, predict_qa
from textlens.models.qa import best_spans, char_span_to_tokens, encode_qa


def test_save_and_load_roundtrip_uses_safetensors_only(tiny_classifier, tmp_path):
    save_model(tiny_classifier, tmp_path / "m")
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert "model.safetensors" in names and not any(n.endswith(".bin") for n in names)
    loaded = load_model(tmp_path / "m", device="cpu")
    assert loaded.task == "classification" and loaded.label_names == ("negative", "positive")
    ids = tiny_classifier.tokenizer("a fine day", return_tensors="pt")
    with torch.inference_mode():
        before = tiny_classifier.model(**ids).logits
        after = loaded.model(**ids).logits
    assert torch.allclose(before, after, atol=1e-6)


def test_missing_model_dir_names_the_fix(tmp_path):
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "nope")
    assert "textlens train" in str(info.value)


def test_task_mismatch_is_refused(tiny_qa, tmp_path):
    save_model(tiny_qa, tmp_path / "qa")
    with pytest.raises(ModelError, match="is a qa model"):
        load_model(tmp_path / "qa", task="classification")


def test_mismatched_tokenizer_is_refused(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from textlens.models.loading import encoder_path, load_tokenizer

    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=16, architectures=["BertForSequenceClassification"])
    BertForSequenceClassification(config).save_pretrained(tmp_path / "small")
    load_tokenizer(encoder_path()).save_pretrained(tmp_path / "small")
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path / "small")


def test_input_checks():
    with pytest.raises(InputError, match="empty"):
        as_text("   ")
    with pytest.raises(InputError, match="UTF-8"):
        as_text(b"caf\xe9")
    assert as_text("caf\xc3\xa9".encode("latin-1").decode("utf-8")) == "café"
    with pytest.raises(InputError, match="more than the model's limit of 8"):
        check_length(9, 8)
    with pytest.warns(UserWarning, match="truncated"):
        check_length(9, 8, truncate=True)


def test_classification_loss_is_per_sample_cross_entropy(tiny_classifier):
    texts = ["a good film", "a bad and boring film that goes on", "fine"]
    preds = predict_classification(tiny_classifier, texts, [1, 0, 1], batch_size=2, progress=False)
    enc = tiny_classifier.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = tiny_classifier.model(**enc).logits
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([1, 0, 1]), reduction="none")
    assert np.allclose(preds.loss, expected.numpy(), atol=1e-4)
    assert np.allclose(preds.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_length_batches_group_similar_lengths():
    batches = length_batches([3, 50, 4, 49, 5], 2)
    assert batches == [[1, 3], [4, 2], [0]]


def test_char_span_to_tokens_and_window_miss():
    offsets = [None, (0, 5), (6, 11), (12, 17), None]
    assert char_span_to_tokens(offsets, 6, 17) == (2, 3)
    assert char_span_to_tokens(offsets, 20, 25) == (0, 0)


def test_best_spans_are_valid_and_ordered():
    offsets = [None, (0, 3), (4, 9), (10, 14), None]
    start = np.array([9.0, 0.1, 5.0, 4.0, 9.0])
    end = np.array([9.0, 6.0, 0.0, 3.0, 9.0])
    spans = best_spans(start, end, offsets, "The quick fox", n_best=5, max_answer_tokens=2)
    assert spans, "no span decoded"
    assert all(s.start_token <= s.end_token and s.end_token - s.start_token < 2 for s in spans)
    assert spans[0].text == "quick fox"  # start 5.0 at 'quick' + end 3.0 at 'fox'
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)


def test_qa_encoding_windows_and_gold_positions(tiny_qa):
    context = " ".join(f"word{i}" for i in range(300)) + " Paris is the answer."
    start = context.index("Paris")
    example = QAExample("q", "t", context, "Where?", (Answer("Paris", start),))
    feats = encode_qa(tiny_qa.tokenizer, [example], max_length=128, stride=32)
    assert len(feats.input_ids) > 1 and set(feats.example_index) == {0}
    hits = [i for i, s in enumerate(feats.start_positions) if s]
    assert hits, "the gold answer must be inside some window"
    i = hits[0]
    first = feats.offsets[i][feats.start_positions[i]]
    assert context[first[0]:feats.offsets[i][feats.end_positions[i]][1]] == "Paris"


def test_predict_qa_returns_a_span_of_the_context_and_a_loss(tiny_qa):
    context = "The Eiffel Tower is in Paris. It was built in 1889."
    example = QAExample("q", "t", context, "When was it built?",
                        (Answer("1889", context.index("1889")),))
    (pred,) = predict_qa(tiny_qa, [example], progress=False)
    assert pred.answer == context[pred.start_char:pred.end_char] and pred.answer
    assert pred.loss is not None and pred.loss > 0


def test_length_batches_bound_rows_and_padded_tokens():
    lengths = [3, 50, 4, 49, 5, 48, 47]
    batches = length_batches(lengths, 3, max_tokens=100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 3 and len(b) * max(lengths[i] for i in b) <= 100 or len(b) == 1
               for b in batches)
    assert [lengths[i] for b in batches for i in b] == sorted(lengths, reverse=True)


def test_length_sorted_batches_give_what_each_sample_alone_gives(tiny_classifier, tiny_qa):
    """Sorting by length and padding per batch changes no result: batched == one at a time."""
    from textlens.latent.embeddings import EmbeddingOptions, embed_qa, embed_texts

    texts = ["fine", "a good film with a long and winding plot that goes nowhere at all",
             "bad", "an utterly wonderful, moving film", "so-so, really", "ok then"]
    gold = [1, 0, 0, 1, 1, 0]
    alone = predict_classification(tiny_classifier, texts, gold, batch_size=1, progress=False)
    batched = predict_classification(tiny_classifier, texts, gold, batch_size=4, max_tokens=60,
                                     progress=False)
    assert np.allclose(alone.probabilities, batched.probabilities, atol=1e-5)
    assert np.allclose(alone.loss, batched.loss, atol=1e-5)
    for pooling in ("cls", "mean"):
        one = embed_texts(tiny_classifier, texts, EmbeddingOptions(pooling=pooling, batch_size=1),
                          progress=False)
        many = embed_texts(tiny_classifier, texts, EmbeddingOptions(pooling=pooling, batch_size=4),
                           progress=False)
        assert np.allclose(one, many, atol=1e-5)
        # and the order of the inputs does not matter either
        perm = [3, 0, 5, 1, 4, 2]
        shuffled = embed_texts(tiny_classifier, [texts[i] for i in perm],
                               EmbeddingOptions(pooling=pooling, batch_size=4), progress=False)
        assert np.allclose(shuffled, many[perm], atol=1e-5)
    context = "The Eiffel Tower is in Paris. It was built in 1889 by a team of engineers."
    examples = [QAExample(f"q{i}", "t", context[: 30 + 15 * i], q, ())
                for i, q in enumerate(["When?", "Where is the tower, and who built it?", "Who?"])]
    qa_alone = predict_qa(tiny_qa, examples, batch_size=1, progress=False)
    qa_batched = predict_qa(tiny_qa, examples, batch_size=3, progress=False)
    for a, b in zip(qa_alone, qa_batched, strict=True):
        assert (a.start_char, a.end_char) == (b.start_char, b.end_char)
        assert a.score == pytest.approx(b.score, abs=1e-4)
    assert np.allclose(embed_qa(tiny_qa, examples, options=EmbeddingOptions(batch_size=1),
                                progress=False),
                       embed_qa(tiny_qa, examples, options=EmbeddingOptions(batch_size=3),
                                progress=False), atol=1e-5)
