"""Drop-in shapes of transformers-interpret's explainers, running on textlens.

`SequenceClassificationExplainer(model, tokenizer)(text)` returns [(token, score), ...]
(special tokens included, L2-normalised, as transformers-interpret does) and exposes
`predicted_class_name`; `QuestionAnsweringExplainer(model, tokenizer)(question, context)`
returns {"start": [...], "end": [...]}. For compatibility only, the last result is kept on the
object (`last`); new code should call `textlens.explain`, which returns values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textlens.attribution.api import explain
from textlens.attribution.explanation import Explanation, QAExplanation
from textlens.models.loading import LoadedModel, Task


def _loaded(model: Any, tokenizer: Any, task: Task) -> LoadedModel:
    device = next(model.parameters()).device
    labels: tuple[str, ...] = ()
    if task == "classification":
        id2label = model.config.id2label or {}
        labels = tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels))
    model.eval()
    return LoadedModel(model, tokenizer, task, labels, device, "shim")


def _pairs(exp: Explanation) -> list[tuple[str, float]]:
    return list(zip(exp.tokens, exp.l2_scores, strict=True))


@dataclass
class SequenceClassificationExplainer:
    model: Any
    tokenizer: Any
    attribution_type: str = "lig"
    custom_labels: list[str] | None = None
    last: Explanation | None = field(default=None, init=False)

    def __call__(self, text: str, index: int | None = None, class_name: str | None = None,
                 n_steps: int | None = None, **_: Any) -> list[tuple[str, float]]:
        loaded = _loaded(self.model, self.tokenizer, "classification")
        if self.custom_labels:
            loaded = LoadedModel(loaded.model, loaded.tokenizer, loaded.task,
                                 tuple(self.custom_labels), loaded.device, loaded.source)
        target = index if index is not None else class_name
        (exp,) = explain([text], model=loaded, method="ig", target=target, steps=n_steps,
                         progress=False)
        assert isinstance(exp, Explanation)
        self.last = exp
        return _pairs(exp)

    @property
    def word_attributions(self) -> list[tuple[str, float]]:
        return _pairs(self._last())

    @property
    def predicted_class_name(self) -> str:
        return self._last().label

    @property
    def predicted_class_index(self) -> int:
        exp = self._last()
        names = list(self.custom_labels or ()) or [
            str(self.model.config.id2label.get(i, f"LABEL_{i}"))
            for i in range(self.model.config.num_labels)]
        return names.index(exp.label) if exp.label in names else -1

    def visualize(self, html_filepath: str | None = None) -> str:
        html = self._last().to_html()
        if html_filepath:
            from textlens.store.files import atomic_write_text

            atomic_write_text(html_filepath, html)
        return html

    def _last(self) -> Explanation:
        if self.last is None:
            raise RuntimeError("call the explainer on a text first")
        return self.last


@dataclass
class QuestionAnsweringExplainer:
    model: Any
    tokenizer: Any
    last: QAExplanation | None = field(default=None, init=False)

    def __call__(self, question: str, text: str, n_steps: int | None = None,
                 **_: Any) -> dict[str, list[tuple[str, float]]]:
        loaded = _loaded(self.model, self.tokenizer, "qa")
        (exp,) = explain([(question, text)], model=loaded, method="ig", steps=n_steps,
                         progress=False)
        assert isinstance(exp, QAExplanation) and exp.start and exp.end
        self.last = exp
        return {"start": _pairs(exp.start), "end": _pairs(exp.end)}

    @property
    def predicted_answer(self) -> str:
        if self.last is None:
            raise RuntimeError("call the explainer on a question first")
        return self.last.answer

    @property
    def start_attributions(self) -> list[tuple[str, float]]:
        assert self.last is not None and self.last.start is not None
        return _pairs(self.last.start)

    @property
    def end_attributions(self) -> list[tuple[str, float]]:
        assert self.last is not None and self.last.end is not None
        return _pairs(self.last.end)
