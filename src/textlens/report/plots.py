"""Bar chart of word attributions (PNG): words ordered by score, green for positive, red for
negative. Uses the non-interactive Agg backend so it works on servers."""

from __future__ import annotations

from pathlib import Path

from textlens.report.attribution_html import AttributionView
from textlens.store.files import atomic_path


def bar_chart(exp: AttributionView, path: str | Path, max_words: int = 30) -> Path:
    """Write the chart; with many words, the `max_words` largest by magnitude are shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(zip(exp.words, exp.word_scores, strict=True))
    if len(pairs) > max_words:
        pairs = sorted(pairs, key=lambda p: -abs(p[1]))[:max_words]
    pairs.sort(key=lambda p: p[1])
    words = [w for w, _ in pairs]
    scores = [s for _, s in pairs]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(words) + 1.2))
    ax.barh(range(len(words)), scores,
            color=["#16a34a" if s >= 0 else "#dc2626" for s in scores])
    ax.set_yticks(range(len(words)), words)
    ax.axvline(0, color="#555", linewidth=0.8)
    title = f"{exp.method}: {exp.target} (predicted {exp.label}, {exp.confidence:.2f})"
    if exp.output is not None and exp.baseline_output is not None:
        title += (f"\nF(input) {exp.output:.3f}, F(baseline) {exp.baseline_output:.3f}, "
                  f"difference {exp.output - exp.baseline_output:+.3f}")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("attribution")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
