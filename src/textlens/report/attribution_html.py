"""HTML for explanations: words coloured green (supports the target) or red (against it),
saturation by magnitude, the score in a tooltip. The page is `templates/attribution.html.j2`
(autoescaped: user and dataset text is escaped by the template, never by hand); it needs no
scripts, fonts or network.

Pure: values in, pages out. It imports nothing from `attribution` (the values are described by
the Protocols below), so attribution -> report is the only direction; `Explanation.to_html`
delegates here lazily."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from textlens.report.templating import Cell, Table, render_page


class AttributionView(Protocol):
    """What a page needs of one attribution (`attribution.Explanation` is one)."""

    text: str
    question: str | None
    words: tuple[str, ...]
    word_spans: tuple[tuple[int, int, int], ...]
    word_scores: tuple[float, ...]
    target: str
    label: str
    confidence: float
    method: str
    steps: int
    completeness_error: float | None
    output: float | None
    baseline_output: float | None
    truncated: bool
    # LRP's evidence (None for the other methods): F(input) minus the relevances' sum, the part
    # its rules absorbed, and that part relative to |F(input)|.
    absorbed: float | None

    @property
    def conservation_error(self) -> float | None: ...

    @property
    def attribution_score(self) -> float: ...


class QAView(Protocol):
    """What a page needs of a QA explanation (`attribution.QAExplanation` is one)."""

    question: str
    context: str
    answer: str
    answer_span: tuple[int, int]
    gold_span: tuple[int, int] | None
    confidence: float
    window: tuple[int, int] | None
    window_index: int
    windows: int

    @property
    def parts(self) -> tuple[AttributionView, ...]: ...


@dataclass(frozen=True)
class Piece:
    """A run of characters of a highlighted text: a word (`score` set) or a gap, inside the
    `marks` outlines (tl-pred, tl-gold); `colour` is the word's background."""

    text: str
    marks: tuple[str, ...] = ()
    score: float | None = None
    colour: str = ""

    @property
    def css(self) -> str:
        return " ".join(("tl-w", *self.marks))


@dataclass(frozen=True)
class TextBlock:
    """One attribution as shown: its figures, the question (QA) and the text, highlighted."""

    summary: tuple[tuple[str, str], ...]
    text: tuple[Piece, ...]
    question: tuple[Piece, ...] | None = None


@dataclass(frozen=True)
class QABlock:
    """A QA explanation: question, answer, which window was explained, its start/end parts."""

    question: str
    answer: str
    confidence: float
    window_note: str | None
    parts: tuple[tuple[str, TextBlock], ...]  # (target, block)


@dataclass(frozen=True)
class Item:
    """One entry of a page: an attribution, several targets of one text, or a QA one."""

    kind: Literal["text", "many", "qa"]
    blocks: tuple[TextBlock, ...] = ()
    qa: QABlock | None = None
    heading: str | None = None  # the text's id on a collection page
    anchor: str | None = None


@dataclass(frozen=True)
class CollectionSummary:
    title: str
    texts: int
    worst_error: float | None  # the largest completeness error (IG and SHAP rows only)
    worst_conservation: float | None  # the largest conservation error (LRP rows only)
    table: Table


def _colour(score: float, scale: float) -> str:
    alpha = 0.0 if scale <= 0 else min(1.0, abs(score) / scale) * 0.85
    rgb = "22,163,74" if score >= 0 else "220,38,38"
    return f"rgba({rgb},{alpha:.3f})"


def _heat(text: str, spans: Sequence[tuple[int, int]], scores: Sequence[float],
          marks: dict[str, tuple[int, int] | None] | None = None) -> tuple[Piece, ...]:
    """`text` cut into pieces: each scored span a word with its colour, gaps kept verbatim;
    `marks` (class -> char span) draws outlines such as the predicted and gold answer."""
    marks = {k: v for k, v in (marks or {}).items() if v is not None}
    scale = max((abs(s) for s in scores), default=0.0)
    owner = [-1] * len(text)
    for w, (a, b) in enumerate(spans):
        for c in range(a, min(b, len(text))):
            owner[c] = w

    def marks_at(c: int) -> tuple[str, ...]:
        return tuple(k for k, (a, b) in marks.items() if a <= c < b)

    out: list[Piece] = []
    c = 0
    while c < len(text):
        classes = marks_at(c)
        d = c + 1
        while d < len(text) and owner[d] == owner[c] and marks_at(d) == classes:
            d += 1
        if owner[c] >= 0:
            s = scores[owner[c]]
            out.append(Piece(text[c:d], classes, s, _colour(s, scale)))
        else:
            out.append(Piece(text[c:d], classes))
        c = d
    return tuple(out)


ABSORBED = "absorbed by LRP's rules (biases, position and token-type embeddings)"


def _fmt_error(exp: AttributionView) -> str:
    """The method's evidence in one cell: LRP's conservation error and absorbed part where IG
    has its completeness error."""
    if exp.conservation_error is not None:
        return f"conservation {exp.conservation_error:.2%} (absorbed {_fmt(exp.absorbed, True)})"
    if exp.completeness_error is None:
        return "n/a: this method's scores are not held to F(input) - F(baseline)"
    return f"{exp.completeness_error:.2%}"


def _evidence(exp: AttributionView) -> list[tuple[str, str]]:
    if exp.conservation_error is None:
        return [("completeness error", _fmt_error(exp))]
    return [("conservation error: |F(input) - sum of scores| / |F(input)|",
             f"{exp.conservation_error:.2%}"), (ABSORBED, _fmt(exp.absorbed, sign=True))]


def _fmt(value: float | None, sign: bool = False) -> str:
    return "n/a" if value is None else (f"{value:+.4f}" if sign else f"{value:.4f}")


def output_difference(exp: AttributionView) -> float | None:
    """F(input) - F(baseline): what the attribution scores add up to (exactly, for IG)."""
    if exp.output is None or exp.baseline_output is None:
        return None
    return exp.output - exp.baseline_output


def _summary(exp: AttributionView, label_name: str = "predicted label"
             ) -> tuple[tuple[str, str], ...]:
    rows = [(label_name, f"{exp.label} ({exp.confidence:.2f})"),
            ("attribution target", exp.target),
            ("F(input): target score of the text", _fmt(exp.output)),
            ("F(baseline): same with every token [PAD]", _fmt(exp.baseline_output)),
            ("F(input) - F(baseline)", _fmt(output_difference(exp), sign=True)),
            ("attribution score (sum of token scores)", f"{exp.attribution_score:+.4f}"),
            ("method", f"{exp.method}, {exp.steps} step{'' if exp.steps == 1 else 's'}"),
            *_evidence(exp)]
    if exp.truncated:
        rows.append(("note", "input truncated to the model's maximum length"))
    return tuple(rows)


def _words_of(exp: AttributionView, segment: int) -> tuple[list[tuple[int, int]], list[float]]:
    spans = [(a, b) for (s, a, b) in exp.word_spans if s == segment]
    scores = [v for (s, _, _), v in zip(exp.word_spans, exp.word_scores, strict=True)
              if s == segment]
    return spans, scores


def _text_block(exp: AttributionView) -> TextBlock:
    if exp.question is not None:
        return _qa_part_block(exp)
    return TextBlock(_summary(exp), _heat(exp.text, *_words_of(exp, 0)))


def _qa_part_block(exp: AttributionView,
                   marks: dict[str, tuple[int, int] | None] | None = None) -> TextBlock:
    return TextBlock(_summary(exp, "predicted answer"), _heat(exp.text, *_words_of(exp, 1), marks),
                     _heat(exp.question or "", *_words_of(exp, 0)))


def _qa_block(qa: QAView) -> QABlock:
    marks = {"tl-pred": qa.answer_span, "tl-gold": qa.gold_span}
    return QABlock(qa.question, qa.answer, qa.confidence, window_note(qa),
                   tuple((p.target, _qa_part_block(p, marks)) for p in qa.parts))


def _item(item: object, heading: str | None = None, anchor: str | None = None) -> Item:
    """An Explanation, a QAExplanation (it has a context) or a top-k one (it has parts)."""
    if hasattr(item, "context"):
        return Item("qa", qa=_qa_block(item), heading=heading,  # type: ignore[arg-type]
                    anchor=anchor)
    parts = _parts_of(item)
    if len(parts) > 1:
        return Item("many", tuple(_text_block(p) for p in parts), heading=heading, anchor=anchor)
    return Item("text", (_text_block(parts[0]),), heading=heading, anchor=anchor)


def _page(items: Sequence[Item], fragment: bool, title: str,
          summary: CollectionSummary | None = None) -> str:
    """One legend per page (a fragment is a page to embed: it carries its own)."""
    return render_page("attribution.html.j2", items=items, fragment=fragment, title=title,
                       summary=summary)


def render(exp: AttributionView, fragment: bool = False) -> str:
    return _page([_item(exp)], fragment, "textlens explanation")


def render_many(parts: Sequence[AttributionView], fragment: bool = False) -> str:
    """Several targets of one text (top-k classes): one section each, one legend."""
    return _page([Item("many", tuple(_text_block(p) for p in parts))], fragment,
                 "textlens explanation")


def render_qa_part(exp: AttributionView, fragment: bool = False,
                   marks: dict[str, tuple[int, int] | None] | None = None) -> str:
    return _page([Item("text", (_qa_part_block(exp, marks),))], fragment,
                 "textlens QA explanation")


def render_qa(qa: QAView, fragment: bool = False) -> str:
    return _page([_item(qa)], fragment, "textlens QA explanation")


SUMMARY_HEADERS = ("id", "text", "label", "target", "confidence", "F(input)", "F(baseline)",
                   "difference", "completeness (or LRP conservation) error")


def render_collection(items: Sequence[tuple[str, object]],
                      title: str = "textlens explanations") -> str:
    """A page of many texts, as (id, explanation) pairs: a summary table at the top (label,
    F(input), F(baseline), difference, completeness error per text), then each explanation,
    one legend for the page."""
    rows, entries = [], []
    for n, (item_id, item) in enumerate(items):
        anchor = f"tl-{n}"
        entries.append(_item(item, heading=item_id, anchor=anchor))
        for p in _parts_of(item):
            short = p.text if len(p.text) <= 60 else p.text[:57] + "..."
            rows.append((Cell(item_id, href=f"#{anchor}"), Cell(short), Cell(p.label),
                         Cell(p.target), *(Cell(v, numeric=True) for v in (
                             f"{p.confidence:.2f}", _fmt(p.output), _fmt(p.baseline_output),
                             _fmt(output_difference(p), sign=True), _fmt_error(p)))))
    parts = [p for _, item in items for p in _parts_of(item)]
    errors = [p.completeness_error for p in parts if p.completeness_error is not None]
    conservation = [p.conservation_error for p in parts if p.conservation_error is not None]
    summary = CollectionSummary(title, len(items), max(errors) if errors else None,
                                max(conservation) if conservation else None,
                                Table(SUMMARY_HEADERS, tuple(rows)))
    return _page(entries, False, title, summary=summary)


def _parts_of(item: object) -> Sequence[AttributionView]:
    """The attributions of a QA explanation, of a top-k one (`.parts`), or a single one."""
    if hasattr(item, "parts"):
        return item.parts  # type: ignore[attr-defined]
    if isinstance(item, Sequence):
        return item
    return (item,)  # type: ignore[return-value]


def window_note(qa: QAView) -> str | None:
    """Which part of a long context was explained (None when the whole context fit)."""
    if qa.window is None:
        return None
    a, b = qa.window
    return (f"explained context characters {a}-{b} of {len(qa.context)} (long context, window "
            f"{qa.window_index + 1} of {qa.windows}); characters outside it score 0")
