"""transformers-interpret's `SequenceClassificationExplainer` and
`PairwiseSequenceClassificationExplainer` (0.10 API), computed by the textlens engine.

The API is stateful by design (call, then read `word_attributions`, `predicted_class_name`,
`visualize()`), so for compatibility only the explainer keeps the last result, a frozen
`Attributions` value, in `attributions`. New code should call `textlens.explain`."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from textlens.attribution.shim.engine import (
    Attributions,
    Embedding,
    accepts,
    attribute,
    position_table,
)
from textlens.attribution.shim.errors import (
    AttributionTypeNotSupportedError,
    CustomLabelsError,
    ExplainerNotCalledError,
    InputIdsNotCalculatedError,
)
from textlens.errors import InputError
from textlens.models.inputs import as_text

SUPPORTED_ATTRIBUTION_TYPES = ["lig"]
NONSTANDARD_MODEL_TYPES = ["roberta"]  # upstream: their position ids start after padding_idx


def _caller_level() -> int:
    """The `stacklevel` that points a warning at the first frame outside the shim, whichever
    entry point (`__call__`, `_run`) led here."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__ or ""):
        level, frame = level + 1, frame.f_back
    return level


def _one_text(text: Any, what: str) -> str:
    """A single text (bytes as UTF-8), refused with a pointer to the batch API otherwise."""
    if isinstance(text, list | tuple):
        raise InputError(f"The explainer takes one {what} per call, got a {type(text).__name__}.",
                         "call it once per text, or use textlens.explain for batches.")
    return as_text(text, what)


class HtmlPage(str):
    """An HTML page: a str, which notebooks display, with `.data` like IPython's `HTML`
    (what transformers-interpret's `visualize()` returns)."""

    @property
    def data(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return str(self)


class SequenceClassificationExplainer:
    """Explains `{Model}ForSequenceClassification` outputs: `explainer(text)` returns
    [(token, score), ...] for the predicted class (or `index=`, `class_name=`), special tokens
    included, scores L2-normalised. `embedding_type=1` attributes to position embeddings.
    `n_steps=None` (default) is textlens's adaptive IG, certified to 1% completeness; `n_steps=N`
    a fixed N-node Gauss-Legendre rule (transformers-interpret's default is 50)."""

    def __init__(self, model: Any, tokenizer: Any, attribution_type: str = "lig",
                 custom_labels: Sequence[str] | None = None) -> None:
        if attribution_type not in SUPPORTED_ATTRIBUTION_TYPES:
            raise AttributionTypeNotSupportedError(
                f"Attribution type '{attribution_type}' is not supported.",
                f"use one of: {', '.join(SUPPORTED_ATTRIBUTION_TYPES)} (integrated gradients; "
                "textlens.explain offers more methods).")
        self.model = model
        self.tokenizer = tokenizer
        self.attribution_type = attribution_type
        config = model.config
        if custom_labels is not None:
            if len(custom_labels) != len(config.label2id):
                raise CustomLabelsError(
                    f"{len(custom_labels)} custom_labels for a model with "
                    f"{len(config.label2id)} labels ({', '.join(map(str, config.label2id))}).",
                    f"pass {len(config.label2id)} labels, in the order of the model's classes.")
            self.id2label: dict[Any, Any] = dict(enumerate(custom_labels))
            self.label2id: dict[Any, Any] = {label: i for i, label in enumerate(custom_labels)}
        else:
            self.label2id = config.label2id
            self.id2label = config.id2label
        self.attributions: Attributions | None = None
        self.internal_batch_size: int | None = None
        self.n_steps: int | None = None
        gpt2 = config.model_type == "gpt2"
        self.ref_token_id = tokenizer.eos_token_id if gpt2 else tokenizer.pad_token_id
        self.sep_token_id = (tokenizer.sep_token_id if tokenizer.sep_token_id is not None
                             else tokenizer.eos_token_id)
        self.cls_token_id = (tokenizer.cls_token_id if tokenizer.cls_token_id is not None
                             else tokenizer.bos_token_id)
        standard = config.model_type not in NONSTANDARD_MODEL_TYPES
        self.accepts_position_ids = accepts(model, "position_ids") and standard
        self.accepts_token_type_ids = accepts(model, "token_type_ids") and standard
        self.device = model.device
        self.word_embeddings = model.get_input_embeddings()
        self.position_embeddings = position_table(model)

    # -- results of the last call ---------------------------------------------------------
    @property
    def word_attributions(self) -> list[tuple[str, float]]:
        """[(token, L2-normalised score), ...] of the last call."""
        if self.attributions is None:
            raise ExplainerNotCalledError("Attributions have not been calculated yet.",
                                          "call the explainer on a text first.")
        return self.attributions.word_attributions

    @property
    def input_ids(self) -> Any:
        """The last input's token ids, (1, L) (empty before any call)."""
        import torch

        if self.attributions is None:
            return torch.tensor([], dtype=torch.long)
        return torch.tensor([self.attributions.input_ids], device=self.device)

    @property
    def predicted_class_index(self) -> int:
        return self._last_input().predicted_index

    @property
    def predicted_class_name(self) -> Any:
        """`id2label` of the predicted index, or the index where `id2label` lacks it."""
        index = self.predicted_class_index
        try:
            return self.id2label[int(index)]
        except Exception:
            return index

    @property
    def selected_index(self) -> int:
        """The class the last call explained."""
        return self._last_input().selected_index

    @property
    def pred_probs(self) -> float:
        """Probability of the explained class (sigmoid for a single-logit model)."""
        return self._last_input().pred_prob

    def _last_input(self) -> Attributions:
        if self.attributions is None:
            raise InputIdsNotCalculatedError("input_ids have not been created yet.",
                                             "call the explainer on a text first.")
        return self.attributions

    # -- explaining -------------------------------------------------------------------------
    def __call__(self, text: str, index: int | None = None, class_name: str | None = None,
                 embedding_type: int = 0, internal_batch_size: int | None = None,
                 n_steps: int | None = None) -> list[tuple[str, float]]:
        """Attributions of `text` for the predicted class, or class `index` / `class_name`.
        `n_steps` and `internal_batch_size` stay set for later calls, as upstream."""
        if n_steps:
            self.n_steps = n_steps
        if internal_batch_size:
            self.internal_batch_size = internal_batch_size
        return self._run(text, index, class_name, embedding_type=embedding_type)

    def _run(self, text: str, index: int | None = None, class_name: str | None = None,
             embedding_type: int | None = None) -> list[tuple[str, float]]:
        self.text = self._clean_text(_one_text(text, "text"))
        self.attributions = self._attribute((self.text,), index, class_name, embedding_type)
        return self.word_attributions

    def _attribute(self, texts: tuple[str, ...], index: int | None, class_name: str | None,
                   embedding_type: int | None, flip_sign: bool = False) -> Attributions:
        return attribute(self.model, self.tokenizer, texts, self._index(index, class_name),
                         self._label_names(), self._embedding(embedding_type), self.n_steps,
                         self.internal_batch_size, flip_sign)

    def _index(self, index: int | None, class_name: str | None) -> int | None:
        """The class to explain; None: the predicted one. An unknown `class_name` warns and
        falls back to the predicted class, as upstream does."""
        if index is not None or class_name is None:
            return index
        if class_name in self.label2id:
            return int(self.label2id[class_name])
        warnings.warn(f"'{class_name}' is not found in self.label2id keys "
                      f"({', '.join(map(str, self.label2id))}). Defaulting to predicted index "
                      "instead.", stacklevel=_caller_level())
        return None

    def _embedding(self, embedding_type: int | None) -> Embedding:
        """1: position embeddings where the model takes position ids and has a table (else a
        warning and word embeddings); anything else: word embeddings, as upstream."""
        if embedding_type != 1:
            return "word"
        if self.accepts_position_ids and self.position_embeddings is not None:
            return "position"
        warnings.warn("This model doesn't support position embeddings for attributions. "
                      "Defaulting to word embeddings", stacklevel=_caller_level())
        return "word"

    def _label_names(self) -> list[str]:
        n = int(self.model.config.num_labels)
        id2label = self.id2label if isinstance(self.id2label, dict) else {}
        return [str(id2label.get(i, i)) for i in range(n)]

    # -- upstream helpers ------------------------------------------------------------------
    def encode(self, text: str | None = None) -> list[int]:
        """Token ids without special tokens."""
        return self.tokenizer.encode(text, add_special_tokens=False)

    def decode(self, input_ids: Any) -> list[str]:
        """Tokens of `input_ids[0]`."""
        return self.tokenizer.convert_ids_to_tokens(input_ids[0])

    def _make_input_reference_pair(self, text: str) -> tuple[Any, Any, int]:
        """(input ids, baseline ids, number of text tokens): the engine's baseline, every
        non-special token replaced by `ref_token_id`."""
        return self._reference(self.tokenizer.encode(text, add_special_tokens=True),
                               len(self.encode(text)))

    def _reference(self, ids: list[int], count: int) -> tuple[Any, Any, int]:
        import torch

        special = self.tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
        ref = [i if s else self.ref_token_id for i, s in zip(ids, special, strict=True)]
        return (torch.tensor([ids], device=self.device), torch.tensor([ref], device=self.device),
                count)

    @staticmethod
    def _clean_text(text: str) -> str:
        """Upstream's cleaning (spaces around .,!?()), so tokens match its output."""
        return re.sub(r"\s{2,}", " ", re.sub(r"([.,!?()])", r" \1 ", text))

    def visualize(self, html_filepath: str | None = None,
                  true_class: str | None = None) -> HtmlPage:
        """The last explanation as a self-contained HTML page (all text escaped); written to
        `html_filepath` (".html" appended if missing) when given."""
        if self.attributions is None:
            raise ExplainerNotCalledError("There is nothing to visualize yet.",
                                          "call the explainer on a text first.")
        from html import escape

        body = self.attributions.explanation.to_html(fragment=True)
        if true_class is not None:
            body = ('<p style="font-family:system-ui,sans-serif">true label: '
                    f"{escape(str(true_class))}</p>{body}")
        page = HtmlPage('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                        f"<title>{escape(type(self).__name__)}</title></head><body>{body}"
                        "</body></html>\n")
        if html_filepath:
            from textlens.store.files import atomic_write_text

            path = html_filepath if html_filepath.endswith(".html") else html_filepath + ".html"
            atomic_write_text(path, page)
        return page

    def __str__(self) -> str:
        return (f"{type(self).__name__}(\n\tmodel={type(self.model).__name__},"
                f"\n\ttokenizer={type(self.tokenizer).__name__},"
                f"\n\tattribution_type='{self.attribution_type}',)")

    # Kept from the first textlens shim: the last textlens Explanation value.
    @property
    def last(self) -> Any:
        return None if self.attributions is None else self.attributions.explanation


class PairwiseSequenceClassificationExplainer(SequenceClassificationExplainer):
    """Explains a pair classifier (a cross-encoder): `explainer(text1, text2)` returns
    [(token, score), ...] over `[CLS] text1 [SEP] text2 [SEP]`. For a single-logit model the
    scores explain sigmoid(logit); `flip_sign=True` negates them (why the pair is dissimilar)."""

    def __call__(self, text1: str, text2: str, index: int | None = None,  # type: ignore[override]
                 class_name: str | None = None, embedding_type: int = 0,
                 internal_batch_size: int | None = None, n_steps: int | None = None,
                 flip_sign: bool = False) -> list[tuple[str, float]]:
        if n_steps:
            self.n_steps = n_steps
        if internal_batch_size:
            self.internal_batch_size = internal_batch_size
        return self._run(text1, text2, index, class_name, embedding_type, flip_sign)

    def _run(self, text1: str, text2: str, index: int | None = None,  # type: ignore[override]
             class_name: str | None = None, embedding_type: int | None = None,
             flip_sign: bool = False) -> list[tuple[str, float]]:
        self.text1 = _one_text(text1, "text1")
        self.text2 = _one_text(text2, "text2")
        self.attributions = self._attribute((text1, text2), index, class_name, embedding_type,
                                            flip_sign)
        return self.word_attributions

    def _make_input_reference_pair(self, text1: str,  # type: ignore[override]
                                   text2: str) -> tuple[Any, Any, int]:
        """(input ids, baseline ids, index of the first separator)."""
        return self._reference(self.tokenizer.encode(text1, text2, add_special_tokens=True),
                               len(self.encode(text1)) + 1)
