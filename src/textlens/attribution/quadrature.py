"""Quadrature for integrated gradients: Gauss-Legendre and trapezoid rules, and an adaptive
composite rule that certifies completeness segment by segment.

Why adaptive: the integrand (the gradient of a softmax probability along the straight path from
the baseline) is sharply peaked where the decision flips, so a fixed grid wastes most of its
evaluations on flat stretches. Each segment [a, b] is checked against the exact change of the
model output over it, F(b) - F(a), which forward passes give for free of gradients; the worst
segments are split until the summed segment errors fall under the tolerance.

The state machine is pure (numpy only): the caller asks `pending()` what to evaluate, evaluates
the model, and hands values back. That lets one model pass serve the requests of many texts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

Rule = Literal["gauss-legendre", "gauss-lobatto", "trapezoid"]
Criterion = Literal["segments", "total"]


@lru_cache(maxsize=64)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n Gauss-Legendre nodes on [0, 1] and weights summing to 1 (exact for degree 2n-1)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=64)
def trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n equally spaced points on [0, 1], endpoints included, with trapezoid weights."""
    if n < 2:
        return np.array([1.0]), np.array([1.0])
    x = np.linspace(0.0, 1.0, n)
    w = np.full(n, 1.0 / (n - 1))
    w[0] = w[-1] = 0.5 / (n - 1)
    return x, w


@lru_cache(maxsize=64)
def gauss_lobatto(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n Gauss-Lobatto(-Legendre) points on [0, 1], endpoints included (exact for degree 2n-3).

    In a composite rule neighbouring segments share their endpoints, and an endpoint is also
    where the completeness check needs F, so one model row serves both."""
    if n < 3:
        return trapezoid(max(n, 2))
    legendre = np.polynomial.legendre.Legendre.basis(n - 1)
    inner = np.sort(legendre.deriv().roots().real)
    x = np.concatenate([[-1.0], inner, [1.0]])
    w = 2.0 / (n * (n - 1) * legendre(x) ** 2)
    return (x + 1.0) / 2.0, w / 2.0


RULES: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "gauss-legendre": gauss_legendre, "gauss-lobatto": gauss_lobatto, "trapezoid": trapezoid}


@dataclass
class Segment:
    a: float
    b: float
    nodes: np.ndarray
    weights: np.ndarray
    integral: np.ndarray | None = None  # quadrature of the vector integrand over [a, b]

    def error(self, f: dict[float, float]) -> float:
        assert self.integral is not None
        return float(self.integral.sum() - (f[self.b] - f[self.a]))


@dataclass
class CompositeQuadrature:
    """Integrate a vector integrand c(alpha) on [0, 1] knowing F with dF/dalpha = sum(c).

    `tolerance=None` means a fixed rule: the initial segments are evaluated once, no refinement.
    """

    nodes_per_segment: int = 4
    initial_segments: int = 4
    tolerance: float | None = 0.01
    max_evaluations: int = 256
    rule: Rule = "gauss-legendre"
    criterion: Criterion = "segments"
    absolute_tolerance: float = 1e-6  # below float32 noise the relative error means nothing
    last_nodes: int | None = None  # nodes on the initial segment ending at alpha = 1, if several
    f: dict[float, float] = field(default_factory=dict)
    g: dict[float, np.ndarray] = field(default_factory=dict)  # integrand values, by alpha
    segments: list[Segment] = field(default_factory=list)
    evaluations: int = 0
    _new: list[Segment] = field(default_factory=list)
    done: bool = False

    def __post_init__(self) -> None:
        edges = np.linspace(0.0, 1.0, self.initial_segments + 1)
        self._new = [self._segment(float(a), float(b)) for a, b in zip(edges, edges[1:],
                                                                          strict=False)]
        if self.last_nodes is not None and len(self._new) > 1:
            self._new[-1] = self._segment(self._new[-1].a, 1.0, self.last_nodes)

    def _segment(self, a: float, b: float, nodes: int | None = None) -> Segment:
        x, w = RULES[self.rule](nodes or self.nodes_per_segment)
        return Segment(a, b, a + (b - a) * x, (b - a) * w)

    def pending_values(self) -> list[float]:
        """Path points whose model output F is still needed (forward passes only)."""
        wanted = {s.a for s in self._new} | {s.b for s in self._new} | {0.0, 1.0}
        return sorted(a for a in wanted if a not in self.f)

    def pending_nodes(self) -> list[float]:
        """Path points where the integrand (a gradient) is needed, each once, sorted."""
        return sorted({float(a) for s in self._new for a in s.nodes} - set(self.g))

    def supply_values(self, alphas: list[float], values: list[float]) -> None:
        self.f.update(zip(alphas, (float(v) for v in values), strict=True))

    def supply_integrand(self, vectors: np.ndarray, alphas: list[float] | None = None) -> None:
        """Integrand values at `pending_nodes()` (one row each); then refine or finish."""
        alphas = self.pending_nodes() if alphas is None else alphas
        self.g.update(zip(alphas, vectors, strict=True))
        self.evaluations += len(alphas)
        for seg in self._new:
            seg.integral = seg.weights @ np.stack([self.g[float(a)] for a in seg.nodes])
        self.segments.extend(self._new)
        self._new = []
        self._refine()

    @property
    def points(self) -> int:
        """Path points the model was run at (gradient rows and output-only rows alike)."""
        return len(set(self.f) | set(self.g))

    @property
    def delta_f(self) -> float:
        return self.f[1.0] - self.f[0.0]

    @property
    def integral(self) -> np.ndarray:
        return np.sum([s.integral for s in self.segments], axis=0)

    @property
    def completeness_error(self) -> float:
        """|sum(integral) - (F(1) - F(0))| / |F(1) - F(0)|."""
        return abs(float(self.integral.sum()) - self.delta_f) / max(abs(self.delta_f), 1e-12)

    def _estimate(self) -> float:
        if self.criterion == "total":
            return self.completeness_error
        return sum(abs(s.error(self.f)) for s in self.segments) / max(abs(self.delta_f), 1e-12)

    def _absolute(self) -> float:
        return sum(abs(s.error(self.f)) for s in self.segments)

    def _refine(self) -> None:
        if (self.tolerance is None or self._estimate() <= self.tolerance
                or self._absolute() <= self.absolute_tolerance):
            self.done = True
            return
        budget = self.max_evaluations - self.evaluations
        per_split = 2 * self.nodes_per_segment - (0 if self.rule == "gauss-legendre" else 3)
        if budget < per_split:
            self.done = True
            return
        # Split the worst segments until what is left unsplit is under the tolerance: a split
        # segment's error falls ~2^8-fold (5 Lobatto nodes), so this usually finishes in the
        # next round. Splitting until half the tolerance split a second segment for most texts:
        # 22.6 vs 21.5 gradient rows a sentence, SST-2 validation first 100, all <= 1%.
        scale = max(abs(self.delta_f), 1e-12)
        ranked = sorted(self.segments, key=lambda s: -abs(s.error(self.f)))
        remaining = sum(abs(s.error(self.f)) for s in ranked) / scale
        split: list[Segment] = []
        for seg in ranked:
            if remaining <= self.tolerance or len(split) * per_split + per_split > budget:
                break
            split.append(seg)
            remaining -= abs(seg.error(self.f)) / scale
        for seg in split:
            self.segments.remove(seg)
            mid = (seg.a + seg.b) / 2
            self._new += [self._segment(seg.a, mid), self._segment(mid, seg.b)]
