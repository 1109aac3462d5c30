"""Explanation values: frozen, JSON-able, renderable. They are what `explain` returns; nothing is
kept on an explainer object. `to_html` delegates to `report.attribution_html` lazily: the report
takes these values and returns pages, and never imports this module (no import cycle)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from textlens.attribution.aggregate import l2_normalise


@dataclass(frozen=True)
class Explanation:
    """Attribution of one target for one input.

    `text` is what `char_scores` covers (the sentence, or the QA context); `question` is set for
    QA. Token `offsets` index into `texts[segments[i]]` where `texts = (question, text)` for QA.
    Scores are raw; `l2_scores` gives the normalised view."""

    text: str
    question: str | None
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    segments: tuple[int | None, ...]
    scores: tuple[float, ...]
    words: tuple[str, ...]
    word_spans: tuple[tuple[int, int, int], ...]
    word_scores: tuple[float, ...]
    char_scores: tuple[float, ...]
    question_char_scores: tuple[float, ...] | None
    target: str
    target_index: int
    label: str
    confidence: float
    method: str
    steps: int
    completeness_error: float | None
    output: float | None
    baseline_output: float | None
    aggregation: str = "sum"
    truncated: bool = False
    absorbed: float | None = None  # LRP: F(input) - sum(scores), what its rules absorbed

    @property
    def conservation_error(self) -> float | None:
        """LRP's evidence: |F(input) - sum(scores)| / |F(input)| (None for other methods)."""
        if self.absorbed is None or self.output is None:
            return None
        return abs(self.absorbed) / max(abs(self.output), 1e-12)

    @property
    def attribution_score(self) -> float:
        """Sum of token scores (for IG, ~ F(x) - F(baseline))."""
        return float(sum(self.scores))

    @property
    def output_difference(self) -> float | None:
        """F(input) - F(baseline): what the token scores add up to (exactly, for IG)."""
        if self.output is None or self.baseline_output is None:
            return None
        return self.output - self.baseline_output

    @property
    def l2_scores(self) -> tuple[float, ...]:
        return l2_normalise(self.scores)

    def top_words(self, k: int = 5) -> list[tuple[str, float]]:
        """The k words with the highest scores (most supporting the target)."""
        ranked = sorted(zip(self.words, self.word_scores, strict=True), key=lambda p: -p[1])
        return ranked[:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "question": self.question, "label": self.label,
            "confidence": self.confidence, "target": self.target,
            "target_index": self.target_index, "method": self.method, "steps": self.steps,
            "completeness_error": self.completeness_error, "output": self.output,
            "baseline_output": self.baseline_output,
            "output_difference": self.output_difference,
            "attribution_score": self.attribution_score, "tokens": list(self.tokens),
            "offsets": [list(o) for o in self.offsets], "segments": list(self.segments),
            "scores": list(self.scores), "scores_l2": list(self.l2_scores),
            "words": list(self.words), "word_spans": [list(s) for s in self.word_spans],
            "word_scores": list(self.word_scores), "aggregation": self.aggregation,
            "char_scores": list(self.char_scores),
            "question_char_scores": (None if self.question_char_scores is None
                                     else list(self.question_char_scores)),
            "truncated": self.truncated, "absorbed": self.absorbed,
            "conservation_error": self.conservation_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        """The value `to_dict` wrote (its derived fields and any extra keys are ignored), so a
        resumed JSONL renders as the run that wrote it did."""
        question_chars = data.get("question_char_scores")
        return cls(
            text=data["text"], question=data.get("question"),
            tokens=tuple(data["tokens"]), offsets=tuple(tuple(o) for o in data["offsets"]),
            segments=tuple(data["segments"]), scores=tuple(data["scores"]),
            words=tuple(data["words"]), word_spans=tuple(tuple(w) for w in data["word_spans"]),
            word_scores=tuple(data["word_scores"]), char_scores=tuple(data["char_scores"]),
            question_char_scores=None if question_chars is None else tuple(question_chars),
            target=data["target"], target_index=data["target_index"], label=data["label"],
            confidence=data["confidence"], method=data["method"], steps=data["steps"],
            completeness_error=data.get("completeness_error"), output=data.get("output"),
            baseline_output=data.get("baseline_output"),
            aggregation=data.get("aggregation", "sum"), truncated=data.get("truncated", False),
            absorbed=data.get("absorbed"))

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_html(self, fragment: bool = False) -> str:
        """A self-contained page (or a fragment to embed): words coloured by score, escaped."""
        from textlens.report.attribution_html import render

        return render(self, fragment=fragment)


@dataclass(frozen=True)
class QAExplanation:
    """Start and end attributions of one question over its context, with the spans they explain.

    A context longer than the model takes is read in overlapping windows; only one is explained
    (the predicted or gold span's), and `window` gives the context characters it covers (None
    when the whole context fit): characters outside it score 0."""

    question: str
    context: str
    answer: str
    answer_span: tuple[int, int]
    gold_span: tuple[int, int] | None
    confidence: float
    method: str
    start: Explanation | None
    end: Explanation | None
    window: tuple[int, int] | None = None
    window_index: int = 0  # which window (0-based) of `windows`
    windows: int = 1

    @property
    def parts(self) -> tuple[Explanation, ...]:
        return tuple(p for p in (self.start, self.end) if p is not None)

    @property
    def steps(self) -> int:
        return sum(p.steps for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        def part(p: Explanation | None) -> dict[str, Any] | None:
            return None if p is None else {**p.to_dict(), "answer": self.answer}

        return {"question": self.question, "context": self.context, "answer": self.answer,
                "answer_start": self.answer_span[0], "answer_end": self.answer_span[1],
                "gold_start": None if self.gold_span is None else self.gold_span[0],
                "gold_end": None if self.gold_span is None else self.gold_span[1],
                "confidence": self.confidence, "method": self.method,
                "window": None if self.window is None else list(self.window),
                "window_index": self.window_index, "windows": self.windows,
                "start": part(self.start), "end": part(self.end)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QAExplanation:
        """The value `to_dict` wrote."""
        def part(p: dict[str, Any] | None) -> Explanation | None:
            return None if p is None else Explanation.from_dict(p)

        gold = (data.get("gold_start"), data.get("gold_end"))
        window = data.get("window")
        return cls(question=data["question"], context=data["context"], answer=data["answer"],
                   answer_span=(data["answer_start"], data["answer_end"]),
                   gold_span=None if gold[0] is None or gold[1] is None else (gold[0], gold[1]),
                   confidence=data["confidence"], method=data["method"],
                   start=part(data.get("start")), end=part(data.get("end")),
                   window=None if window is None else (window[0], window[1]),
                   window_index=data.get("window_index", 0), windows=data.get("windows", 1))

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_html(self, fragment: bool = False) -> str:
        from textlens.report.attribution_html import render_qa

        return render_qa(self, fragment=fragment)


@dataclass(frozen=True)
class MultiExplanation:
    """Several targets of one input (classification top-k): one row per class."""

    parts: tuple[Explanation, ...]

    @property
    def text(self) -> str:
        return self.parts[0].text

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.parts[0].label,
                "confidence": self.parts[0].confidence, "method": self.parts[0].method,
                "rows": [p.to_dict() for p in self.parts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultiExplanation:
        """The value `to_dict` wrote."""
        return cls(tuple(Explanation.from_dict(row) for row in data["rows"]))

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_html(self, fragment: bool = False) -> str:
        from textlens.report.attribution_html import render_many

        return render_many(self.parts, fragment=fragment)


def result_from_dict(data: dict[str, Any]) -> Explanation | QAExplanation | MultiExplanation:
    """Whichever of the three values wrote `data` (by its shape: QA has a context, top-k rows)."""
    if "context" in data:
        return QAExplanation.from_dict(data)
    if "rows" in data:
        return MultiExplanation.from_dict(data)
    return Explanation.from_dict(data)
