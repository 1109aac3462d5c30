"""Tokenise one text (or a question and its context) for attribution, keeping what maps scores
back onto the original characters: offsets, word ids and which sequence each token belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from textlens.models.inputs import as_text, check_length
from textlens.models.loading import LoadedModel


@dataclass(frozen=True)
class Encoded:
    """One model input. `texts` is (text,) for classification and (question, context) for QA;
    `segments[i]` says which of them token i comes from (None for special tokens)."""

    texts: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    segments: tuple[int | None, ...]
    word_ids: tuple[int | None, ...]
    special: tuple[bool, ...]
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.input_ids)

    def baseline_ids(self, pad_id: int) -> tuple[int, ...]:
        """Every non-special token replaced by `pad_id`; special tokens kept."""
        return tuple(i if s else pad_id for i, s in zip(self.input_ids, self.special, strict=True))


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
    ids = list(enc["input_ids"])
    seq = enc.sequence_ids()
    words = enc.word_ids()
    special_ids = set(tok.all_special_ids)
    special = tuple(s is None or i in special_ids for i, s in zip(ids, seq, strict=True))
    return Encoded(
        texts=texts,
        input_ids=tuple(ids),
        token_type_ids=tuple(enc.get("token_type_ids", [0] * len(ids))),
        tokens=tuple(tok.convert_ids_to_tokens(ids)),
        offsets=tuple((int(a), int(b)) for a, b in enc["offset_mapping"]),
        segments=tuple(None if sp else s for s, sp in zip(seq, special, strict=True)),
        word_ids=tuple(None if sp else w for w, sp in zip(words, special, strict=True)),
        special=special,
        truncated=len(full["input_ids"]) > len(ids),
    )
