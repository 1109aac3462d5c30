"""Tokenise one text (or a question and its context) for attribution, keeping what maps scores
back onto the original characters: offsets, word ids and which sequence each token belongs to.

A QA context longer than the model takes is split into overlapping windows, as QA prediction
does (`models.qa.encode_qa`); each window is one `Encoded` whose offsets still index the full
context, so scores land on the right characters whichever window is explained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textlens.errors import InputError
from textlens.models.inputs import as_text, check_length
from textlens.models.loading import LoadedModel
from textlens.models.qa import DEFAULT_QA_WINDOWING, qa_windowing

QA_STRIDE = DEFAULT_QA_WINDOWING.stride  # tokens shared by neighbouring windows (`QAWindowing`)


@dataclass(frozen=True)
class Encoded:
    """One model input. `texts` is (text,) for classification and (question, context) for QA;
    `segments[i]` says which of them token i comes from (None for special tokens). A window of
    a long QA context is window `window` of `windows`; its offsets index the full context."""

    texts: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    segments: tuple[int | None, ...]
    word_ids: tuple[int | None, ...]
    special: tuple[bool, ...]
    truncated: bool = False
    window: int = 0
    windows: int = 1

    def __len__(self) -> int:
        return len(self.input_ids)

    def baseline_ids(self, pad_id: int) -> tuple[int, ...]:
        """Every non-special token replaced by `pad_id`; special tokens kept."""
        return tuple(i if s else pad_id for i, s in zip(self.input_ids, self.special, strict=True))

    def char_range(self, segment: int = 1) -> tuple[int, int] | None:
        """Characters of `texts[segment]` covered by this input's tokens (None if none are)."""
        spans = [o for o, s in zip(self.offsets, self.segments, strict=True) if s == segment]
        if not spans:
            return None
        return min(a for a, _ in spans), max(b for _, b in spans)


def encode(loaded: LoadedModel, text: str | bytes, question: str | bytes | None = None,
           truncate: bool = False) -> Encoded:
    """Tokenise; refuse empty text and over-long text unless `truncate` (then announced)."""
    tok = loaded.tokenizer
    limit = loaded.max_length
    if question is None:
        texts: tuple[str, ...] = (as_text(text, "text"),)
        full = tok(texts[0], truncation=False, add_special_tokens=True)
        check_length(len(full["input_ids"]), limit, "text", truncate)
        enc = tok(texts[0], truncation=True, max_length=limit, return_offsets_mapping=True)
    else:
        texts = (as_text(question, "question"), as_text(text, "context"))
        full = tok(texts[0], texts[1], truncation=False)
        check_length(len(full["input_ids"]), limit, "question and context", truncate)
        enc = tok(texts[0], texts[1], truncation="only_second", max_length=limit,
                  return_offsets_mapping=True)
    return _encoded(tok, texts, enc, 0, truncated=len(full["input_ids"]) > len(enc["input_ids"]))


def encode_windows(loaded: LoadedModel, context: str | bytes, question: str | bytes,
                   stride: int | None = None, max_length: int | None = None,
                   ) -> tuple[Encoded, ...]:
    """A (question, context) pair as one input, or, when it is longer than the model takes, as
    overlapping windows of the context (question repeated in each), like QA prediction.

    Only an over-long question is refused: it leaves no room for the context. Windows are
    as the model was trained (`qa_windowing`) unless `stride` / `max_length` are given."""
    if stride is not None and stride < 0:
        raise InputError(f"doc_stride is {stride}.", "pass 0 or more tokens (default 128).")
    windowing = qa_windowing(loaded, max_length, stride)
    tok = loaded.tokenizer
    limit, stride = windowing.max_length, windowing.stride
    texts = (as_text(question, "question"), as_text(context, "context"))
    full = tok(texts[0], texts[1], truncation=False)
    if len(full["input_ids"]) <= limit:
        return (encode(loaded, texts[1], question=texts[0]),)
    n_question = len(tok(texts[0], add_special_tokens=False)["input_ids"])
    room = limit - n_question - tok.num_special_tokens_to_add(pair=True)
    least = min(64, limit // 4)
    if room < least:
        raise InputError(
            f"The question has {n_question} tokens: with the model's limit of {limit} it leaves "
            f"{max(room, 0)} tokens per window for the context, too few to read it.",
            f"shorten the question to at most {n_question - (least - room)} tokens (long "
            "contexts are fine: they are split into windows).")
    enc = tok(texts[0], texts[1], truncation="only_second", max_length=limit,
              stride=min(stride, room // 2), return_overflowing_tokens=True,
              return_offsets_mapping=True)
    n = len(enc["input_ids"])
    return tuple(_encoded(tok, texts, enc, i, window=i, windows=n) for i in range(n))


def _encoded(tok: Any, texts: tuple[str, ...], enc: Any, row: int, truncated: bool = False,
             window: int = 0, windows: int = 1) -> Encoded:
    """Row `row` of a tokenizer output (batched when windowed) as an `Encoded`."""
    batched = isinstance(enc["input_ids"][0], list)
    ids = list(enc["input_ids"][row] if batched else enc["input_ids"])
    seq = enc.sequence_ids(row)
    words = enc.word_ids(row)
    offsets = enc["offset_mapping"][row] if batched else enc["offset_mapping"]
    types = enc["token_type_ids"][row] if batched and "token_type_ids" in enc \
        else enc.get("token_type_ids", [0] * len(ids))
    special_ids = set(tok.all_special_ids)
    special = tuple(s is None or i in special_ids for i, s in zip(ids, seq, strict=True))
    return Encoded(
        texts=texts,
        input_ids=tuple(ids),
        token_type_ids=tuple(types),
        tokens=tuple(tok.convert_ids_to_tokens(ids)),
        offsets=tuple((int(a), int(b)) for a, b in offsets),
        segments=tuple(None if sp else s for s, sp in zip(seq, special, strict=True)),
        word_ids=tuple(None if sp else w for w, sp in zip(words, special, strict=True)),
        special=special,
        truncated=truncated,
        window=window,
        windows=windows,
    )
