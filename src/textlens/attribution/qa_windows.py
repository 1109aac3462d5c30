"""Which window of a long QA context to explain.

Attribution runs on one model input, but a long context is several windows (`encode_windows`).
Explaining every window would multiply the cost, so one is chosen: for the predicted answer the
window whose best span scores highest (start + end logit), which is how `predict_qa` picks the
answer over windows; for the gold answer the window that holds the gold span most centrally.
Choosing costs one forward pass per window, without gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textlens.attribution.encoding import Encoded
from textlens.attribution.runner import Runner, frozen
from textlens.errors import InputError
from textlens.models.qa import Span, best_spans, char_span_to_tokens


@dataclass(frozen=True)
class WindowChoice:
    """The input to explain, and (for a long context) the answer predicted over all windows,
    which the explained window may not hold when the gold span is explained, and the explained
    window's start and end logits (computed while choosing, so not run again)."""

    encoded: Encoded
    best: Span | None = None
    confidence: float | None = None
    outputs: dict[str, np.ndarray] | None = None

    @property
    def window(self) -> tuple[int, int] | None:
        """Context characters the explained window covers; None when the whole context fit."""
        return self.encoded.char_range(1) if self.encoded.windows > 1 else None


def context_offsets(e: Encoded) -> list[tuple[int, int] | None]:
    return [o if s == 1 else None for o, s in zip(e.offsets, e.segments, strict=True)]


def softmax(v: np.ndarray) -> np.ndarray:
    z = np.exp(v - v.max())
    return z / z.sum()


def window_prediction(e: Encoded, start_logits: np.ndarray, end_logits: np.ndarray,
                      ) -> tuple[Span, float] | None:
    """The best span of one input and its probability (start x end, within the input)."""
    spans = best_spans(start_logits, end_logits, context_offsets(e), e.texts[1], n_best=20)
    if not spans:
        return None
    best = spans[0]
    conf = float(softmax(start_logits)[best.start_token] * softmax(end_logits)[best.end_token])
    return best, conf


def gold_missing(answer: tuple[int, int]) -> InputError:
    return InputError(f"The gold span {tuple(answer)} is not inside the context (or not inside "
                      "one model window of it).",
                      "check the character offsets (start inclusive, end exclusive).")


def gold_token_span(e: Encoded, answer: tuple[int, int]) -> tuple[int, int] | None:
    """Token positions of the gold character span in `e`, or None when `e` misses it."""
    start, end = char_span_to_tokens(context_offsets(e), int(answer[0]), int(answer[1]))
    return None if start == 0 and end == 0 else (start, end)


def choose_window(runner: Runner, windows: Sequence[Encoded],
                  gold: tuple[int, int] | None) -> WindowChoice:
    """The window to explain: the gold span's (when `gold` is given) or the predicted answer's."""
    if len(windows) == 1:
        return WindowChoice(windows[0])
    pick = None if gold is None else _gold_window(windows, gold)  # before any model pass
    logits = _logits(runner, windows)
    found = [(i, p) for i, (w, (s, e)) in enumerate(zip(windows, logits, strict=True))
             if (p := window_prediction(w, s, e)) is not None]
    if not found:
        raise InputError("The model found no answer span in the context.")
    top, (best, conf) = max(found, key=lambda item: item[1][0].score)  # the first wins ties
    chosen = top if pick is None else pick
    start, end = logits[chosen]
    return WindowChoice(windows[chosen], best, conf, {"start_logits": start, "end_logits": end})


def _gold_window(windows: Sequence[Encoded], gold: tuple[int, int]) -> int:
    """The window holding the gold span with the most context on its shorter side."""
    margins: dict[int, int] = {}
    for i, w in enumerate(windows):
        span = gold_token_span(w, gold)
        if span is not None:
            context = [t for t, s in enumerate(w.segments) if s == 1]
            margins[i] = min(span[0] - context[0], context[-1] - span[1])
    if not margins:
        raise gold_missing(gold)
    return max(margins, key=lambda i: margins[i])  # dicts keep order: the first wins ties


def _logits(runner: Runner, windows: Sequence[Encoded]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Start and end logits of every window: one no-gradient pass per group of equal length
    (windows are full length except the last), so no padding is needed."""
    import torch

    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(windows)
    lengths = sorted({len(w) for w in windows})
    with frozen(runner.loaded.model):
        for n in lengths:
            members = [i for i, w in enumerate(windows) if len(w) == n]
            raw = runner.raw(torch.stack([runner.embed(windows[i].input_ids) for i in members]),
                             torch.stack([runner.embed_types(windows[i].token_type_ids)
                                          for i in members]))
            for r, i in enumerate(members):
                out[i] = (raw["start_logits"][r].numpy(), raw["end_logits"][r].numpy())
    return [o for o in out if o is not None]
