"""HTML for explanations: words coloured green (supports the target) or red (against it),
saturation by magnitude, the score in a tooltip. Every piece of user or dataset text goes
through `html.escape`; the page needs no scripts, fonts or network.

Pure: values in, pages out. It imports nothing from `attribution` (the values are described by
the Protocols below), so attribution -> report is the only direction; `Explanation.to_html`
delegates here lazily."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Protocol


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

STYLE = """<style>
.tl-attr{font-family:system-ui,sans-serif;line-height:1.9;max-width:60em}
.tl-attr table{border-collapse:collapse;margin:.3em 0}
.tl-attr td,.tl-attr th{padding:.15em .6em;border-bottom:1px solid #ddd;text-align:left}
.tl-attr .tl-text{white-space:pre-wrap}
.tl-attr .tl-w{border-radius:3px;padding:0 1px}
.tl-attr .tl-pred{outline:2px solid #1f4fbf}
.tl-attr .tl-gold{border-bottom:3px double #b07d00}
.tl-attr .tl-legend span{padding:0 .4em;margin-right:.5em}
.tl-attr .tl-note,.tl-attr .tl-key{color:#555;font-size:.9em}
.tl-attr .tl-item{border-top:1px solid #bbb;margin-top:1em;padding-top:.3em}
.tl-attr td.tl-num{text-align:right;font-variant-numeric:tabular-nums}
</style>"""


def _colour(score: float, scale: float) -> str:
    alpha = 0.0 if scale <= 0 else min(1.0, abs(score) / scale) * 0.85
    rgb = "22,163,74" if score >= 0 else "220,38,38"
    return f"rgba({rgb},{alpha:.3f})"


def _heat(text: str, spans: Sequence[tuple[int, int]], scores: Sequence[float],
          marks: dict[str, tuple[int, int] | None] | None = None) -> str:
    """`text` with each scored span highlighted; gaps kept verbatim (escaped); `marks` (class ->
    char span) draws outlines such as the predicted and gold answer."""
    marks = {k: v for k, v in (marks or {}).items() if v is not None}
    scale = max((abs(s) for s in scores), default=0.0)
    owner = [-1] * len(text)
    for w, (a, b) in enumerate(spans):
        for c in range(a, min(b, len(text))):
            owner[c] = w
    out: list[str] = []
    c = 0
    while c < len(text):
        classes = tuple(k for k, (a, b) in marks.items() if a <= c < b)
        d = c + 1
        while d < len(text) and owner[d] == owner[c] and tuple(
                k for k, (a, b) in marks.items() if a <= d < b) == classes:
            d += 1
        piece = escape(text[c:d])
        cls = " ".join(("tl-w",) + classes)
        if owner[c] >= 0:
            s = scores[owner[c]]
            out.append(f'<span class="{cls}" style="background:{_colour(s, scale)}" '
                       f'title="{s:+.4f}">{piece}</span>')
        elif classes:
            out.append(f'<span class="{cls}">{piece}</span>')
        else:
            out.append(piece)
        c = d
    return "".join(out)


def _row(name: str, value: object) -> str:
    return f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>"


def _fmt_error(exp: AttributionView) -> str:
    if exp.completeness_error is None:
        return "n/a: this method's scores are not held to F(input) - F(baseline)"
    return f"{exp.completeness_error:.2%}"


def _fmt(value: float | None, sign: bool = False) -> str:
    return "n/a" if value is None else (f"{value:+.4f}" if sign else f"{value:.4f}")


def output_difference(exp: AttributionView) -> float | None:
    """F(input) - F(baseline): what the attribution scores add up to (exactly, for IG)."""
    if exp.output is None or exp.baseline_output is None:
        return None
    return exp.output - exp.baseline_output


def _summary(exp: AttributionView, label_name: str = "predicted label") -> str:
    rows = [_row(label_name, f"{exp.label} ({exp.confidence:.2f})"),
            _row("attribution target", exp.target),
            _row("F(input): target score of the text", _fmt(exp.output)),
            _row("F(baseline): same with every token [PAD]", _fmt(exp.baseline_output)),
            _row("F(input) - F(baseline)", _fmt(output_difference(exp), sign=True)),
            _row("attribution score (sum of token scores)", f"{exp.attribution_score:+.4f}"),
            _row("method", f"{exp.method}, {exp.steps} step{'' if exp.steps == 1 else 's'}"),
            _row("completeness error", _fmt_error(exp))]
    if exp.truncated:
        rows.append(_row("note", "input truncated to the model's maximum length"))
    return "<table>" + "".join(rows) + "</table>"


def _words_of(exp: AttributionView, segment: int) -> tuple[list[tuple[int, int]], list[float]]:
    spans = [(a, b) for (s, a, b) in exp.word_spans if s == segment]
    scores = [v for (s, _, _), v in zip(exp.word_spans, exp.word_scores, strict=True)
              if s == segment]
    return spans, scores


LEGEND = ('<div class="tl-legend"><span style="background:rgba(22,163,74,.6)">supports the '
          'target</span><span style="background:rgba(220,38,38,.6)">against it</span> '
          '<span class="tl-key">Red words lower the target score, green words raise it. '
          'Integrated gradients\' token scores add up to F(input) - F(baseline) (the completeness '
          'error says how closely); other methods\' scores are not held to that sum.</span></div>')


def _page(body: str, fragment: bool, title: str, legend: bool = True) -> str:
    """One legend per page (a fragment is a page to embed: it carries its own)."""
    div = f'<div class="tl-attr">{STYLE}{LEGEND if legend else ""}{body}</div>'
    if fragment:
        return div
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title></head><body>{div}</body></html>\n")


def _text_body(exp: AttributionView) -> str:
    if exp.question is not None:
        return _qa_part_body(exp)
    spans, scores = _words_of(exp, 0)
    return _summary(exp) + f'<p class="tl-text">{_heat(exp.text, spans, scores)}</p>'


def render(exp: AttributionView, fragment: bool = False) -> str:
    return _page(_text_body(exp), fragment, "textlens explanation")


def render_many(parts: Sequence[AttributionView], fragment: bool = False) -> str:
    """Several targets of one text (top-k classes): one section each, one legend."""
    body = "".join(f'<div class="tl-item">{_text_body(p)}</div>' for p in parts)
    return _page(body, fragment, "textlens explanation")


def _qa_part_body(exp: AttributionView,
                  marks: dict[str, tuple[int, int] | None] | None = None) -> str:
    q_spans, q_scores = _words_of(exp, 0)
    c_spans, c_scores = _words_of(exp, 1)
    return (_summary(exp, "predicted answer")
            + f'<p><b>Question:</b> <span class="tl-text">'
              f'{_heat(exp.question or "", q_spans, q_scores)}</span></p>'
            + f'<p class="tl-text">{_heat(exp.text, c_spans, c_scores, marks)}</p>')


def render_qa_part(exp: AttributionView, fragment: bool = False,
                   marks: dict[str, tuple[int, int] | None] | None = None) -> str:
    return _page(_qa_part_body(exp, marks), fragment, "textlens QA explanation")


def _qa_body(qa: QAView) -> str:
    marks = {"tl-pred": qa.answer_span, "tl-gold": qa.gold_span}
    key = ('<p><span class="tl-pred">predicted answer</span> &nbsp; '
           '<span class="tl-gold">ground truth</span></p>')
    head = (f"<p><b>Question:</b> {escape(qa.question)}<br><b>Answer:</b> {escape(qa.answer)} "
            f"({qa.confidence:.2f})</p>")
    parts = "".join(f"<h4>{escape(p.target)}</h4>" + _qa_part_body(p, marks) for p in qa.parts)
    return head + window_note(qa) + key + parts


def render_qa(qa: QAView, fragment: bool = False) -> str:
    return _page(_qa_body(qa), fragment, "textlens QA explanation")


def render_collection(items: Sequence[tuple[str, object]],
                      title: str = "textlens explanations") -> str:
    """A page of many texts, as (id, explanation) pairs: a summary table at the top (label,
    F(input), F(baseline), difference, completeness error per text), then each explanation,
    one legend for the page."""
    rows, sections = [], []
    for n, (item_id, item) in enumerate(items):
        parts = _parts_of(item)
        if hasattr(item, "context"):
            body = _qa_body(item)  # type: ignore[arg-type]
        elif len(parts) > 1:
            body = "".join(f'<div class="tl-item">{_text_body(p)}</div>' for p in parts)
        else:
            body = _text_body(parts[0])
        anchor = f"tl-{n}"
        sections.append(f'<div class="tl-item" id="{anchor}"><h3>{escape(item_id)}</h3>'
                        f"{body}</div>")
        for p in parts:
            short = p.text if len(p.text) <= 60 else p.text[:57] + "..."
            cells = [f'<a href="#{anchor}">{escape(item_id)}</a>', escape(short),
                     escape(p.label), escape(p.target)] + [f'<td class="tl-num">{v}</td>' for v in (
                         f"{p.confidence:.2f}", _fmt(p.output), _fmt(p.baseline_output),
                         _fmt(output_difference(p), sign=True), _fmt_error(p))]
            rows.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>"
                                         for c in cells) + "</tr>")
    errors = [p.completeness_error for _, item in items for p in _parts_of(item)
              if p.completeness_error is not None]
    worst = f"; largest completeness error {max(errors):.2%}" if errors else ""
    head = ("<tr><th>id</th><th>text</th><th>label</th><th>target</th><th>confidence</th>"
            "<th>F(input)</th>"
            "<th>F(baseline)</th><th>difference</th><th>completeness error</th></tr>")
    summary = (f"<h2>{escape(title)}</h2><p>{len(items)} texts{escape(worst)}.</p>"
               f"<table>{head}{''.join(rows)}</table>")
    return _page(summary + LEGEND + "".join(sections), False, title, legend=False)


def _parts_of(item: object) -> Sequence[AttributionView]:
    """The attributions of a QA explanation, of a top-k one (`.parts`), or a single one."""
    if hasattr(item, "parts"):
        return item.parts  # type: ignore[attr-defined]
    if isinstance(item, Sequence):
        return item
    return (item,)  # type: ignore[return-value]


def window_note(qa: QAView) -> str:
    """Which part of a long context was explained (empty when the whole context fit)."""
    if qa.window is None:
        return ""
    a, b = qa.window
    note = (f"explained context characters {a}-{b} of {len(qa.context)} (long context, window "
            f"{qa.window_index + 1} of {qa.windows}); characters outside it score 0")
    return f'<p class="tl-note">{escape(note)}</p>'
