"""Batched inference: class probabilities and per-sample loss; QA spans and per-sample loss.

Inputs are sorted by length and padded per batch, so little compute is spent on padding.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from textlens.data.types import QAExample
from textlens.errors import InputError
from textlens.models.heads import class_names, head_kind, probabilities
from textlens.models.loading import LoadedModel, ensure_loaded
from textlens.models.qa import Span, best_spans, encode_qa, qa_windowing
from textlens.progress import track

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ClassificationPredictions:
    probabilities: np.ndarray  # (n, classes), as the head reads them (`models.heads`)
    label_names: tuple[str, ...]  # per column (a one-logit head: "not NAME", NAME)
    loss: np.ndarray | None  # per-sample -log p(gold) (cross-entropy; BCE for sigmoid heads)
    n_tokens: np.ndarray | None = None  # per-sample token count before truncation
    max_length: int | None = None  # the limit the texts were cut to

    @property
    def labels(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    @property
    def truncated(self) -> np.ndarray:
        """Per sample: was the text longer than `max_length` tokens (and cut)?"""
        if self.n_tokens is None or self.max_length is None:
            return np.zeros(len(self.probabilities), dtype=bool)
        return self.n_tokens > self.max_length


@dataclass(frozen=True)
class QAPrediction:
    id: str
    answer: str
    start_char: int
    end_char: int
    score: float
    loss: float | None  # start CE + end CE at the gold span (first answer)
    nbest: tuple[Span, ...]
    start_loss: float | None = None  # the start CE alone (end CE = loss - start_loss)
    local_loss: float | None = None  # start + end CE among the context tokens near each gold end


LOCAL_TOKENS = 5


def local_cross_entropy(logits: np.ndarray, offsets: Sequence[tuple[int, int] | None],
                        token: int, k: int = LOCAL_TOKENS) -> float:
    """Cross-entropy at `token` of the softmax over the context tokens within `k` of it: is
    this end where the model would put it *locally*? A boundary moved by a few words costs
    much here, a right gold the model misses elsewhere little (squad-minilm, tuning articles:
    start + end at k = 5 ranks planted boundaries at precision@K 0.530, the loss 0.321)."""
    lo, hi = max(0, token - k), min(len(offsets), token + k + 1)
    near = [logits[t] for t in range(lo, hi) if offsets[t] is not None or t == token]
    top = max(near)
    return float(top + np.log(np.sum(np.exp(np.array(near) - top))) - logits[token])


def length_batches(lengths: Sequence[int], batch_size: int,
                   max_tokens: int | None = None) -> list[list[int]]:
    """Indices grouped into batches of near-equal length (longest first): at most `batch_size`
    rows and, when given, `max_tokens` tokens once padded to the batch's longest row. On SST-2
    validation, batches of 64 in input order spend 51% of their tokens on padding; sorted, 7%."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and (
                max_tokens is None or (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens):
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def inference_batching(device: torch.device, batch_size: int | None = None,
                       max_tokens: int | None = None) -> tuple[int, int]:
    """(rows, tokens) a forward-only batch holds, by device, each overridable. A GPU needs
    big batches to be busy, and inference keeps no activations, so 512 rows / 131,072 tokens
    there; 128 rows / 8,192 tokens on a CPU: on 2,000 UNGDC sentences 128 rows ran 2.1x faster
    than 32 (262 vs 126 sentences/s), and the token budget keeps a batch of long sentences from
    taking 340 MB of activations at once (corpus peak RSS 812 -> 472 MB)."""
    cpu = device.type == "cpu"
    return batch_size or (128 if cpu else 512), max_tokens or (8192 if cpu else 131072)


def encode_texts(tokenizer, texts: Sequence[str], max_length: int) -> tuple[dict[str, list],
                                                                             list[int]]:
    """Token features as the model was trained (`training.classification` uses the tokenizer's
    own truncation, which keeps the final special token, [SEP] for BERT) and every text's full
    token count. Only the over-long texts are tokenised a second time."""
    enc = tokenizer(list(texts), truncation=False, padding=False)
    features = {k: list(v) for k, v in enc.items()}
    lengths = [len(ids) for ids in features["input_ids"]]
    long = [i for i, n in enumerate(lengths) if n > max_length]
    if long:
        cut = tokenizer([texts[i] for i in long], truncation=True, max_length=max_length,
                        padding=False)
        for key, column in features.items():
            for j, i in enumerate(long):
                column[i] = cut[key][j]
    return features, lengths


def predict_classification(loaded: LoadedModel | str | Path, texts: Sequence[str],
                           gold: Sequence[int] | None = None, batch_size: int | None = None,
                           max_length: int | None = None, progress: bool = True,
                           max_tokens: int | None = None,
                           warn_truncated: bool = True) -> ClassificationPredictions:
    """The one classification inference path (predict, evaluate, latent, corpus on every
    engine, the domain check, the dashboard): class probabilities (and per-sample loss against
    `gold`), in input order; `loaded` may be a path. Probabilities follow the head
    (`models.heads`): a one-logit model has two columns [1 - sigmoid(z), sigmoid(z)], a
    multi-label one a sigmoid per class, and a regression head its raw outputs (and no loss).
    Texts longer than the model takes are truncated as in training (`encode_texts`) and
    flagged (`.truncated`); batches of near-equal length (`length_batches`, sizes by device:
    `inference_batching`), so results do not depend on batch sizes beyond float rounding."""
    import torch

    loaded = ensure_loaded(loaded, task="classification")
    batch_size, max_tokens = inference_batching(loaded.device, batch_size, max_tokens)
    max_length = min(max_length or loaded.max_length, loaded.max_length)
    head = head_kind(loaded.model.config)
    if head == "regression" and gold is not None:
        raise InputError("A regression head has no per-class loss against gold labels.",
                         "predict without gold labels, or pass a classification model.")
    names = class_names(head, loaded.label_names)
    width = max(len(names), loaded.model.config.num_labels)
    probs = np.zeros((len(texts), width), dtype=np.float32)
    losses = np.zeros(len(texts), dtype=np.float32) if gold is not None else None
    if not len(texts):
        return ClassificationPredictions(probs, names, losses, np.zeros(0, dtype=np.int64),
                                         max_length)
    features, lengths = encode_texts(loaded.tokenizer, texts, max_length)
    truncated = sum(n > max_length for n in lengths)
    if truncated and warn_truncated:
        warnings.warn(f"{truncated} of {len(texts)} texts are longer than {max_length} tokens "
                      "and were truncated.", stacklevel=2)
    batches = length_batches([min(n, max_length) for n in lengths], batch_size, max_tokens)
    iterator = track(batches, "Predicting") if progress and len(batches) > 1 else batches
    with torch.inference_mode():
        for batch in iterator:
            rows = [{k: features[k][i] for k in features} for i in batch]
            padded = loaded.tokenizer.pad(rows, return_tensors="pt").to(loaded.device)
            logits = loaded.model(**padded).logits.float()
            probs[batch] = probabilities(logits.cpu().numpy(), head)
            if losses is not None and gold is not None:
                target = torch.tensor([gold[i] for i in batch], device=logits.device)
                if head == "softmax":
                    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
                else:
                    ce = -_log_sigmoid_at(logits, target, head == "binary")
                losses[batch] = ce.cpu().numpy()
    return ClassificationPredictions(probs, names, losses, np.asarray(lengths, dtype=np.int64),
                                     max_length)


def _log_sigmoid_at(logits: torch.Tensor, target: torch.Tensor, binary: bool) -> torch.Tensor:
    """log p(gold) of a sigmoid head: a one-logit head's class 1 is sigmoid(z), class 0
    sigmoid(-z); a multi-label head's class k is sigmoid(z_k)."""
    import torch

    if binary:
        z = logits[:, 0]
        return torch.nn.functional.logsigmoid(torch.where(target == 1, z, -z))
    return torch.nn.functional.logsigmoid(logits.gather(1, target[:, None])[:, 0])


def predict_qa(loaded: LoadedModel | str | Path, examples: Sequence[QAExample],
               batch_size: int | None = None,
               max_length: int | None = None, stride: int | None = None, n_best: int = 20,
               max_answer_tokens: int = 30, progress: bool = True,
               max_tokens: int | None = None) -> list[QAPrediction]:
    """Best span per example over all its windows, with the per-sample gold loss. Windows as
    the model was trained (`qa_windowing`) unless `max_length` / `stride` are given; in
    batches of near-equal length (sizes by device: `inference_batching`)."""
    import torch

    loaded = ensure_loaded(loaded, task="qa")
    batch_size, max_tokens = inference_batching(loaded.device, batch_size, max_tokens)
    windows = qa_windowing(loaded, max_length, stride)
    feats = encode_qa(loaded.tokenizer, examples, windows.max_length, windows.stride)
    spans: list[list[Span]] = [[] for _ in examples]
    loss_at_gold: list[float | None] = [None] * len(examples)
    loss_fallback: list[float | None] = [None] * len(examples)
    start_ce: list[float | None] = [None] * len(examples)  # from the window `loss` comes from
    local_ce: list[float] = [0.0] * len(examples)
    batches = length_batches([len(x) for x in feats.input_ids], batch_size, max_tokens)
    iterator = track(batches, "Answering") if progress and len(batches) > 1 else batches
    with torch.inference_mode():
        for batch in iterator:
            features = [_feature(feats, i) for i in batch]
            padded = loaded.tokenizer.pad(features, return_tensors="pt").to(loaded.device)
            out = loaded.model(**padded)
            start, end = out.start_logits.float(), out.end_logits.float()
            mask = padded["attention_mask"] == 0
            start, end = start.masked_fill(mask, -1e4), end.masked_fill(mask, -1e4)
            gold_s = torch.tensor([feats.start_positions[i] for i in batch], device=start.device)
            gold_e = torch.tensor([feats.end_positions[i] for i in batch], device=start.device)
            ce_start = torch.nn.functional.cross_entropy(start, gold_s, reduction="none")
            ce = (ce_start + torch.nn.functional.cross_entropy(end, gold_e, reduction="none")
                  ).cpu().numpy()
            ce_start_np = ce_start.cpu().numpy()
            start_np, end_np = start.cpu().numpy(), end.cpu().numpy()
            for row, i in enumerate(batch):
                ex = feats.example_index[i]
                spans[ex].extend(best_spans(start_np[row], end_np[row], feats.offsets[i],
                                            examples[ex].context, n_best, max_answer_tokens))
                if feats.start_positions[i] != 0 and loss_at_gold[ex] is None:
                    loss_at_gold[ex] = float(ce[row])
                    start_ce[ex] = float(ce_start_np[row])
                    local_ce[ex] = (
                        local_cross_entropy(start_np[row], feats.offsets[i], feats.start_positions[i])
                        + local_cross_entropy(end_np[row], feats.offsets[i], feats.end_positions[i]))
                elif loss_fallback[ex] is None and loss_at_gold[ex] is None:
                    loss_fallback[ex] = float(ce[row])
                    start_ce[ex] = float(ce_start_np[row])
    results = []
    for ex, example in enumerate(examples):
        ranked = tuple(sorted(spans[ex], key=lambda s: -s.score)[:n_best])
        best = ranked[0] if ranked else Span(0, 0, 0, 0, float("-inf"), "")
        loss = loss_at_gold[ex] if loss_at_gold[ex] is not None else loss_fallback[ex]
        results.append(QAPrediction(example.id, best.text, best.start_char, best.end_char,
                                    best.score, loss if example.answers else None, ranked,
                                    start_ce[ex] if example.answers else None,
                                    local_ce[ex] if example.answers else None))
    return results


def _feature(feats, i: int) -> dict[str, list[int]]:
    item = {"input_ids": feats.input_ids[i], "attention_mask": feats.attention_mask[i]}
    if feats.token_type_ids is not None:
        item["token_type_ids"] = feats.token_type_ids[i]
    return item
