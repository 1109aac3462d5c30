"""Extractive QA plumbing shared by training, prediction and explanation.

Encoding follows the standard Hugging Face recipe: question first, context second, only the
context truncated, long contexts split into windows of `max_length` tokens overlapping by
`stride`, and offset mappings kept so that token spans map back to characters of the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.data.types import QAExample
from textlens.errors import InputError

if TYPE_CHECKING:
    from textlens.models.loading import LoadedModel


@dataclass(frozen=True)
class QAWindowing:
    """How a long QA context is cut into windows: `max_length` tokens each (question included),
    neighbours sharing `stride` tokens. The one source of truth: training stores it in
    training.json, `load_model` reads it back, and prediction, evaluation, embedding and
    explanation use it unless an explicit option overrides it."""

    max_length: int = 384
    stride: int = 128

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise InputError(f"QA max_length is {self.max_length}.", "pass 8 tokens or more.")
        if not 0 <= self.stride < self.max_length:
            raise InputError(f"QA doc stride is {self.stride} with max_length {self.max_length}.",
                             "pass a stride of 0 or more, below max_length (default 128).")

    def to_dict(self) -> dict[str, int]:
        return {"max_length": self.max_length, "stride": self.stride}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QAWindowing | None:
        """Read from training.json: `qa_windowing`, or the older `max_length` + `stride` keys."""
        stored = record.get("qa_windowing")
        if isinstance(stored, Mapping):
            return cls(int(stored["max_length"]), int(stored["stride"]))
        if "stride" in record and "max_length" in record:
            return cls(int(record["max_length"]), int(record["stride"]))
        return None


DEFAULT_QA_WINDOWING = QAWindowing()


def qa_windowing(loaded: LoadedModel, max_length: int | None = None,
                 stride: int | None = None) -> QAWindowing:
    """The windows to use with `loaded`: as it was trained (else the default), with explicit
    `max_length` / `stride` overriding, and max_length capped by what the model takes."""
    base = loaded.qa_windowing or DEFAULT_QA_WINDOWING
    length = min(max_length if max_length is not None else base.max_length, loaded.max_length)
    return QAWindowing(length, stride if stride is not None else min(base.stride, length - 1))


@dataclass(frozen=True)
class QAFeatures:
    """Tokenised windows; `example_index[i]` is the example window i came from."""

    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    token_type_ids: list[list[int]] | None
    offsets: list[list[tuple[int, int] | None]]  # None outside the context
    example_index: list[int]
    start_positions: list[int]  # gold token positions (0 = [CLS] when not in the window)
    end_positions: list[int]


def encode_qa(tokenizer: Any, examples: Sequence[QAExample],
              max_length: int = DEFAULT_QA_WINDOWING.max_length,
              stride: int = DEFAULT_QA_WINDOWING.stride) -> QAFeatures:
    if not tokenizer.padding_side == "right":
        raise InputError("textlens expects a right-padding tokenizer for QA.")
    for example in examples:
        if not example.question.strip() or not example.context.strip():
            raise InputError(f"Question or context of '{example.id}' is empty.",
                             "pass a non-empty question and context.")
    enc = tokenizer(
        [e.question for e in examples], [e.context for e in examples],
        truncation="only_second", max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
    )
    mapping = list(enc["overflow_to_sample_mapping"])
    offsets: list[list[tuple[int, int] | None]] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, sample in enumerate(mapping):
        seq_ids = enc.sequence_ids(i)
        window = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][i], seq_ids,
                                                                strict=True)]
        offsets.append(window)
        answers = examples[sample].answers
        start_tok, end_tok = (0, 0)
        if answers:
            start_tok, end_tok = char_span_to_tokens(window, answers[0].start, answers[0].end)
        starts.append(start_tok)
        ends.append(end_tok)
    return QAFeatures(
        [list(x) for x in enc["input_ids"]], [list(x) for x in enc["attention_mask"]],
        [list(x) for x in enc["token_type_ids"]] if "token_type_ids" in enc else None,
        offsets, mapping, starts, ends,
    )


def char_span_to_tokens(offsets: Sequence[tuple[int, int] | None], start_char: int,
                        end_char: int) -> tuple[int, int]:
    """Token positions covering [start_char, end_char), or (0, 0) when the window misses it."""
    context = [i for i, o in enumerate(offsets) if o is not None]
    if not context or offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return 0, 0
    start_tok = next(i for i in context if offsets[i][1] > start_char)
    end_tok = next(i for i in reversed(context) if offsets[i][0] < end_char)
    return start_tok, end_tok


@dataclass(frozen=True)
class Span:
    start_char: int
    end_char: int
    start_token: int
    end_token: int
    score: float  # start logit + end logit
    text: str


def best_spans(start_logits: np.ndarray, end_logits: np.ndarray,
               offsets: Sequence[tuple[int, int] | None], context: str, n_best: int = 20,
               max_answer_tokens: int = 30) -> list[Span]:
    """The n best valid spans (start <= end, inside the context, not too long), best first."""
    valid = np.array([o is not None for o in offsets])
    if not valid.any():
        return []
    s_logits = np.where(valid, start_logits[: len(offsets)], -np.inf)
    e_logits = np.where(valid, end_logits[: len(offsets)], -np.inf)
    top = min(n_best, int(valid.sum()))
    start_idx = np.argsort(-s_logits)[:top]
    end_idx = np.argsort(-e_logits)[:top]
    spans = []
    for s in start_idx:
        for e in end_idx:
            if e < s or e - s + 1 > max_answer_tokens or not valid[s] or not valid[e]:
                continue
            a, b = offsets[s][0], offsets[e][1]
            spans.append(Span(a, b, int(s), int(e), float(s_logits[s] + e_logits[e]), context[a:b]))
    spans.sort(key=lambda span: -span.score)
    return spans[:n_best]
