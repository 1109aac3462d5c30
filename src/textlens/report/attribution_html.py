"""HTML for explanations: words coloured green (supports the target) or red (against it),
saturation by magnitude, the score in a tooltip. Every piece of user or dataset text goes
through `html.escape`; the page needs no scripts, fonts or network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textlens.attribution.explanation import Explanation, QAExplanation

STYLE = """<style>
.tl-attr{font-family:system-ui,sans-serif;line-height:1.9;max-width:60em}
.tl-attr table{border-collapse:collapse;margin:.3em 0}
.tl-attr td,.tl-attr th{padding:.15em .6em;border-bottom:1px solid #ddd;text-align:left}
.tl-attr .tl-text{white-space:pre-wrap}
.tl-attr .tl-w{border-radius:3px;padding:0 1px}
.tl-attr .tl-pred{outline:2px solid #1f4fbf}
.tl-attr .tl-gold{border-bottom:3px double #b07d00}
.tl-attr .tl-legend span{padding:0 .4em;margin-right:.5em}
.tl-attr .tl-note{color:#555;font-size:.9em}
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


def _fmt_error(exp: Explanation) -> str:
    return "n/a" if exp.completeness_error is None else f"{exp.completeness_error:.2%}"


def _summary(exp: Explanation, label_name: str = "predicted label") -> str:
    rows = [_row(label_name, f"{exp.label} ({exp.confidence:.2f})"),
            _row("attribution target", exp.target),
            _row("attribution score", f"{exp.attribution_score:+.4f}"),
            _row("method", f"{exp.method}, {exp.steps} steps"),
            _row("completeness error", _fmt_error(exp))]
    if exp.truncated:
        rows.append(_row("note", "input truncated to the model's maximum length"))
    return "<table>" + "".join(rows) + "</table>"


def _words_of(exp: Explanation, segment: int) -> tuple[list[tuple[int, int]], list[float]]:
    spans = [(a, b) for (s, a, b) in exp.word_spans if s == segment]
    scores = [v for (s, _, _), v in zip(exp.word_spans, exp.word_scores, strict=True)
              if s == segment]
    return spans, scores


LEGEND = ('<div class="tl-legend"><span style="background:rgba(22,163,74,.6)">supports the '
          'target</span><span style="background:rgba(220,38,38,.6)">against it</span></div>')


def _page(body: str, fragment: bool, title: str) -> str:
    div = f'<div class="tl-attr">{STYLE}{body}{LEGEND}</div>'
    if fragment:
        return div
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title></head><body>{div}</body></html>\n")


def render(exp: Explanation, fragment: bool = False) -> str:
    if exp.question is not None:
        return render_qa_part(exp, fragment)
    spans, scores = _words_of(exp, 0)
    body = _summary(exp) + f'<p class="tl-text">{_heat(exp.text, spans, scores)}</p>'
    return _page(body, fragment, "textlens explanation")


def render_many(parts: Sequence[Explanation], fragment: bool = False) -> str:
    body = "".join(render(p, fragment=True) for p in parts)
    return _page(body, fragment, "textlens explanation")


def render_qa_part(exp: Explanation, fragment: bool = False,
                   marks: dict[str, tuple[int, int] | None] | None = None) -> str:
    q_spans, q_scores = _words_of(exp, 0)
    c_spans, c_scores = _words_of(exp, 1)
    body = (_summary(exp, "predicted answer")
            + f'<p><b>Question:</b> <span class="tl-text">'
              f'{_heat(exp.question or "", q_spans, q_scores)}</span></p>'
            + f'<p class="tl-text">{_heat(exp.text, c_spans, c_scores, marks)}</p>')
    return _page(body, fragment, "textlens QA explanation")


def render_qa(qa: QAExplanation, fragment: bool = False) -> str:
    marks = {"tl-pred": qa.answer_span, "tl-gold": qa.gold_span}
    key = ('<p><span class="tl-pred">predicted answer</span> &nbsp; '
           '<span class="tl-gold">ground truth</span></p>')
    head = (f"<p><b>Question:</b> {escape(qa.question)}<br><b>Answer:</b> {escape(qa.answer)} "
            f"({qa.confidence:.2f})</p>")
    parts = "".join(f"<h4>{escape(p.target)}</h4>" + render_qa_part(p, True, marks)
                    for p in qa.parts)
    return _page(head + window_note(qa) + key + parts, fragment, "textlens QA explanation")


def window_note(qa: QAExplanation) -> str:
    """Which part of a long context was explained (empty when the whole context fit)."""
    if qa.window is None:
        return ""
    a, b = qa.window
    note = (f"explained context characters {a}-{b} of {len(qa.context)} (long context, window "
            f"{qa.window_index + 1} of {qa.windows}); characters outside it score 0")
    return f'<p class="tl-note">{escape(note)}</p>'
