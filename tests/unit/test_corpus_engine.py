"""The engine seam: rows per sentence in a deterministic order, equal to a plain forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.corpus.engine import (
    Document,
    EngineOptions,
    LocalEngine,
    SentenceEngine,
    SentenceSpan,
    assign_labels,
    predict_sentences,
    segment_documents,
)
from textlens.errors import InputError

DOCS = [Document("a", "We welcome the agreement. The war is a disaster for all of us.\nThank you."),
        Document("b", "Peace is possible. " * 3 + "Hunger and conflict remain.", {"year": 2020}),
        Document("c", "   ")]


def test_local_engine_rows_match_an_unbatched_forward(tiny_classifier):
    import torch

    engine = LocalEngine(tiny_classifier, EngineOptions(batch_size=2))
    assert isinstance(engine, SentenceEngine)
    rows = engine.predict(DOCS)
    assert [(r.doc_id, r.sentence_id) for r in rows] == [
        ("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2), ("b", 3)]
    for row in rows:
        assert DOCS[ord(row.doc_id) - ord("a")].text[row.start:row.end].split() == row.text.split()
        enc = tiny_classifier.tokenizer(row.text, return_tensors="pt")
        with torch.no_grad():
            expected = torch.softmax(tiny_classifier.model(**enc).logits, -1)[0].numpy()
        np.testing.assert_allclose(row.probabilities, expected, atol=1e-5)
        assert row.label == tiny_classifier.label_names[int(expected.argmax())]
        assert row.confidence == pytest.approx(float(expected.max()), abs=1e-6)


def test_batch_size_and_document_split_do_not_change_rows(tiny_classifier):
    whole = LocalEngine(tiny_classifier, EngineOptions(batch_size=64)).predict(DOCS)
    parts = [row for doc in DOCS for row in
             LocalEngine(tiny_classifier, EngineOptions(batch_size=1)).predict([doc])]
    assert [(r.doc_id, r.sentence_id, r.start, r.end) for r in whole] == [
        (r.doc_id, r.sentence_id, r.start, r.end) for r in parts]
    np.testing.assert_allclose([r.probabilities for r in whole], [r.probabilities for r in parts],
                               atol=1e-5)


def test_long_sentence_is_truncated_and_flagged(tiny_classifier):
    spans = segment_documents([Document("x", "word " * 40 + "end.")])
    [row] = predict_sentences(tiny_classifier, spans, 8, max_length=16)
    assert row.truncated and row.n_tokens > 16


def test_length_batches_respect_both_caps_and_cover_every_sentence():
    import random

    from textlens.models.predict import length_batches

    lengths = [random.Random(i).randint(3, 160) for i in range(500)]
    batches = length_batches(lengths, 128, 8192)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for batch in batches:
        assert len(batch) <= 128
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 8192
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)  # longest first, so padding stays small


PARITY_TEXTS = ["A short one.", "word " * 600 + "the very end.", "Another, rather longer sentence "
                "about the general debate and its many speakers.", "x " * 530]


@pytest.mark.parametrize("head", ["softmax", "multi_label", "binary"])
def test_corpus_and_predict_give_identical_probabilities(make_tiny, head):
    """One inference path: the corpus engine's rows hold exactly what `predict` returns, on
    over-long input (truncated as in training, [SEP] kept) and on sigmoid heads."""
    from textlens.models.predict import predict_classification

    names = ("joy", "anger", "fear") if head == "multi_label" else ("negative", "positive")
    loaded = make_tiny("classification", names if head != "binary" else ("positive",), seed=3)
    if head == "multi_label":
        loaded.model.config.problem_type = "multi_label_classification"
    if head == "binary":
        import torch

        torch.manual_seed(3)
        loaded.model.classifier = torch.nn.Linear(loaded.model.config.hidden_size, 1)
        loaded.model.config.num_labels = 1
    spans = [SentenceSpan("d", i, t, 0, len(t)) for i, t in enumerate(PARITY_TEXTS)]
    rows = predict_sentences(loaded, spans)
    preds = predict_classification(loaded, PARITY_TEXTS, progress=False, warn_truncated=False)
    assert np.array_equal(np.array([r.probabilities for r in rows], dtype=np.float32),
                          preds.probabilities)
    assert [r.truncated for r in rows] == [False, True, False, True] == list(preds.truncated)
    assert [r.n_tokens for r in rows] == list(preds.n_tokens)
    if head == "multi_label":  # a sigmoid per class: rows need not sum to 1
        assert not np.allclose(preds.probabilities.sum(1), 1.0)
    else:
        assert np.allclose(preds.probabilities.sum(1), 1.0, atol=1e-6)


def test_truncation_keeps_the_final_separator_as_training_does(tiny_classifier):
    """An over-long text is cut as `training.classification` encodes it (the tokenizer's own
    truncation, [SEP] last): its probabilities equal a direct forward of that encoding."""
    import torch

    from textlens.models.predict import encode_texts, predict_classification

    text = "word " * 600 + "end."
    tok = tiny_classifier.tokenizer
    features, lengths = encode_texts(tok, [text], 64)
    assert lengths[0] > 64 and len(features["input_ids"][0]) == 64
    assert features["input_ids"][0][-1] == tok.sep_token_id
    direct = tok([text], truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        expected = torch.softmax(tiny_classifier.model(**direct).logits, -1).numpy()
    got = predict_classification(tiny_classifier, [text], max_length=64, progress=False,
                                 warn_truncated=False).probabilities
    assert np.allclose(got, expected, atol=1e-6)


def test_neutral_band_on_p_positive():
    probs = np.array([[0.9, 0.1], [0.45, 0.55], [0.61, 0.39], [0.2, 0.8]])
    assert assign_labels(probs, ("negative", "positive"), (0.4, 0.6)) == [
        "negative", "neutral", "negative", "positive"]
    assert assign_labels(probs, ("negative", "positive"), None)[1] == "positive"


def test_bad_options_are_refused_with_the_valid_values():
    with pytest.raises(InputError, match="rules, pysbd"):
        EngineOptions(segmenter="spacy").check()
    with pytest.raises(InputError, match="LOW,HIGH"):
        EngineOptions(neutral_band=(0.7, 0.3)).check()
    with pytest.raises(InputError, match="not sentiment labels"):
        assign_labels(np.ones((1, 2)) / 2, ("LABEL_0", "LABEL_1"), (0.4, 0.6))
