"""A subset of transformers-interpret's `QuestionAnsweringExplainer`, running on textlens:
`QuestionAnsweringExplainer(model, tokenizer)(question, context)` returns {"start": [...],
"end": [...]} ([(token, L2-normalised score), ...]) and exposes `predicted_answer`. For
compatibility only, the last result is kept on the object (`last`); new code should call
`textlens.explain`, which returns values."""

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
