"""The `samples` table: one row per sample with its text fields, metadata, predictions and loss.

Predictions are computed in chunks so that the run cache can keep each chunk: a run killed in
the middle of inference resumes at the first chunk not yet written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from textlens.data.types import Dataset, QAExample, TextExample
from textlens.errors import DataError
from textlens.latent.label_issues import span_confidence
from textlens.latent.summaries import answer_type, question_type
from textlens.models.loading import LoadedModel

T = TypeVar("T")


def base_frame(dataset: Dataset, label_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Ids, split, text fields, label and every metadata column (QA: lengths, answer position).
    Classification: `label` is the class name from `label_names` (default: the data's; the
    index as text without names), as `prediction` is, and `label_index` the class index."""
    rows = []
    for ex in dataset.examples:
        meta = {k: v for k, v in ex.metadata.items() if isinstance(v, str | int | float | bool)}
        split = str(meta.pop("split", dataset.split))
        if isinstance(ex, QAExample):
            first = ex.answers[0] if ex.answers else None
            rows.append({
                "id": ex.id, "split": split, "title": ex.title, "question": ex.question,
                "context": ex.context, "label": first.text if first else None,
                "answers": json.dumps([a.text for a in ex.answers], ensure_ascii=False),
                "answer_starts": json.dumps([a.start for a in ex.answers]),
                "question_length": len(ex.question.split()),
                "context_length": len(ex.context.split()),
                "answer_length": len(first.text.split()) if first else 0,
                "answer_position": round(first.start / max(1, len(ex.context)), 3) if first
                else None,
                "question_type": question_type(ex.question),
                "answer_type": answer_type(first.text) if first else "other",
                **{k: v for k, v in meta.items() if k not in ("title",)},
            })
        else:
            assert isinstance(ex, TextExample)
            if ex.label is None:
                raise DataError(f"Sample '{ex.id}' has no label; the analysis needs gold labels.",
                                "pass --label-col naming the label column.")
            rows.append({"id": ex.id, "split": split, "text": ex.text, "label": None,
                         "label_index": int(ex.label), "text_length": len(ex.text.split()),
                         **meta})
    frame = pd.DataFrame(rows)
    if dataset.task == "classification":
        names = label_names or dataset.label_names
        top = int(frame["label_index"].max())
        if names and top >= len(names):
            raise DataError(f"Label {top} has no name: the model knows "
                            f"{len(names)} classes ({', '.join(names)}).",
                            "pass data whose labels the model was trained on.")
        frame["label"] = [names[i] if names else str(i) for i in frame["label_index"]]
    return frame


def chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def predict_chunk(loaded: LoadedModel, dataset: Dataset, part: slice,
                  batch_size: int | None = None) -> pd.DataFrame:
    """Predictions for `dataset.examples[part]` as a frame (classification or QA)."""
    from textlens.models.predict import predict_classification, predict_qa

    examples = dataset.examples[part]
    if dataset.task == "qa":
        preds = predict_qa(loaded, list(examples), batch_size=batch_size, progress=False)
        return pd.DataFrame({
            "prediction": [p.answer for p in preds],
            "pred_start": [p.start_char for p in preds], "pred_end": [p.end_char for p in preds],
            "confidence": [span_confidence([s.score for s in p.nbest]) for p in preds],
            "nbest": [json.dumps([[s.start_char, s.end_char, round(s.score, 4)] for s in p.nbest])
                      for p in preds],  # n-best agreement for the label-issue detector
            "loss": [np.nan if p.loss is None else p.loss for p in preds],
            # the start CE alone: a boundary error makes one end costly (label_qa)
            "start_loss": [np.nan if p.start_loss is None else p.start_loss for p in preds],
            "local_loss": [np.nan if p.local_loss is None else p.local_loss for p in preds]})
    out = predict_classification(loaded, [e.text for e in examples], [e.label for e in examples],
                                 batch_size=batch_size, progress=False)
    frame = pd.DataFrame(out.probabilities, columns=[f"p_{i}" for i in
                                                     range(out.probabilities.shape[1])])
    frame["loss"] = out.loss
    return frame


def add_predictions(frame: pd.DataFrame, preds: pd.DataFrame,
                    label_names: Sequence[str] | None) -> pd.DataFrame:
    """Join predictions; derive `prediction`, `confidence`, `correct` (QA: EM, plus `f1`)."""
    from textlens.metrics.squad import exact_match, f1

    frame = pd.concat([frame.reset_index(drop=True), preds.reset_index(drop=True)], axis=1)
    if "question" in frame:
        golds = [json.loads(a) for a in frame["answers"]]
        frame["correct"] = [exact_match(p, g) for p, g in zip(frame["prediction"], golds,
                                                              strict=True)]
        frame["f1"] = [f1(p, g) for p, g in zip(frame["prediction"], golds, strict=True)]
        return frame
    probs = probabilities(frame)
    pred = probs.argmax(axis=1)
    names = list(label_names) if label_names else [str(i) for i in range(probs.shape[1])]
    frame["prediction"] = [names[i] for i in pred]
    frame["predicted_label"] = pred
    frame["confidence"] = probs.max(axis=1)
    frame["correct"] = (pred == frame["label_index"].to_numpy()).astype(float)
    return frame


def probabilities(frame: pd.DataFrame) -> np.ndarray:
    cols = sorted((c for c in frame if c.startswith("p_") and c[2:].isdigit()),
                  key=lambda c: int(c[2:]))
    return frame[cols].to_numpy(dtype=np.float64)


def chunked(n: int, size: int, compute: Callable[[slice, int], T], what: str = "Chunks"
            ) -> list[T]:
    """Call compute(part, index) for each chunk; a progress bar when there are several."""
    from textlens.progress import track

    parts = chunks(n, size)
    iterator = track(list(enumerate(parts)), what) if len(parts) > 1 else enumerate(parts)
    return [compute(part, i) for i, part in iterator]
