"""Rich rendering of explanations: the text with words on green/red backgrounds, and a summary
line (label, target, F(input), F(baseline), their difference, method, steps, completeness
error, or LRP's conservation error and absorbed part). Text goes through rich's Text, never
markup, so brackets in user text are printed as typed. Pure: takes values (see
`attribution_html`'s Protocols), imports nothing of attribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textlens.report.attribution_html import AttributionView, output_difference

if TYPE_CHECKING:
    from rich.text import Text


def _heat(text: str, spans: Sequence[tuple[int, int]], scores: Sequence[float],
          underline: tuple[int, int] | None = None) -> Text:
    from rich.text import Text

    out = Text(text)
    scale = max((abs(s) for s in scores), default=0.0) or 1.0
    for (a, b), s in zip(spans, scores, strict=True):
        level = int(min(1.0, abs(s) / scale) * 4)
        if level == 0:
            continue
        shade = ["", "grey23", "dark_green", "green4", "green3"][level] if s > 0 else \
            ["", "grey23", "dark_red", "red3", "red1"][level]
        out.stylize(f"on {shade}", a, b)
    if underline is not None:
        out.stylize("underline bold", *underline)
    return out


def _summary(exp: AttributionView) -> str:
    def num(v: float | None, fmt: str = ".4f") -> str:
        return "n/a" if v is None else format(v, fmt)

    if exp.conservation_error is not None:
        evidence = (f"conservation error {exp.conservation_error:.2%} "
                    f"(absorbed {num(exp.absorbed, '+.4f')} of F(input))")
    else:
        err = "n/a" if exp.completeness_error is None else f"{exp.completeness_error:.2%}"
        evidence = f"completeness error {err}"

    return (f"label {exp.label} ({exp.confidence:.2f}) | target {exp.target} | "
            f"F(input) {num(exp.output)} F(baseline) {num(exp.baseline_output)} "
            f"difference {num(output_difference(exp), '+.4f')} | "
            f"{exp.method}, {exp.steps} steps | {evidence}")


def render(result: Any) -> list[Text]:
    """Lines to print with a rich Console: an Explanation, a QAExplanation or a top-k
    MultiExplanation (told apart by their fields)."""
    from rich.text import Text

    if hasattr(result, "parts") and not hasattr(result, "context"):
        return [line for part in result.parts for line in render(part)]
    if hasattr(result, "context"):
        lines = [Text(f"Q: {result.question}"),
                 Text(f"A: {result.answer} (span probability {result.confidence:.2f})",
                      style="bold")]
        if result.window is not None:
            a, b = result.window
            lines.append(Text(f"explained context characters {a}-{b} of {len(result.context)} "
                              f"(long context, window {result.window_index + 1} of "
                              f"{result.windows})", style="dim"))
        for part in result.parts:
            spans = [(a, b) for s, a, b in part.word_spans if s == 1]
            scores = [v for (s, _, _), v in zip(part.word_spans, part.word_scores, strict=True)
                      if s == 1]
            lines += [Text(_summary(part), style="dim"),
                      _heat(part.text, spans, scores, result.answer_span)]
        return lines
    spans = [(a, b) for _, a, b in result.word_spans]
    return [Text(_summary(result), style="dim"),
            _heat(result.text, spans, list(result.word_scores))]
