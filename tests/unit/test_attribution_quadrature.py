"""The quadrature rules and the adaptive composite integrator, on integrands with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.attribution.quadrature import CompositeQuadrature, gauss_legendre, trapezoid


@pytest.mark.parametrize("n", [1, 3, 8])
def test_gauss_legendre_is_exact_to_degree_2n_minus_1(n: int) -> None:
    x, w = gauss_legendre(n)
    assert np.isclose(w.sum(), 1.0)
    assert np.all((x > 0) & (x < 1))
    for degree in range(2 * n):
        assert np.isclose(w @ x**degree, 1.0 / (degree + 1))
    assert abs(w @ x ** (2 * n) - 1.0 / (2 * n + 1)) > 1e-12


def test_trapezoid_includes_endpoints_and_integrates_lines() -> None:
    x, w = trapezoid(5)
    assert x[0] == 0.0 and x[-1] == 1.0
    assert np.isclose(w @ (3 * x + 1), 2.5)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _run(quad: CompositeQuadrature, sharpness: float = 60.0) -> CompositeQuadrature:
    """Integrand c(a) = weights * d/da sigmoid(k (a - 0.63)): a sharp decision flip, as in IG."""
    weights = np.array([0.7, 0.2, 0.1])

    def f(a: float) -> float:
        return float(_sigmoid(sharpness * (a - 0.63)))

    while not quad.done:
        asked = quad.pending_values()
        quad.supply_values(asked, [f(a) for a in asked])
        nodes = np.array(quad.pending_nodes())
        s = _sigmoid(sharpness * (nodes - 0.63))
        quad.supply_integrand(np.outer(sharpness * s * (1 - s), weights))
    return quad


def test_adaptive_reaches_tolerance_and_the_right_answer() -> None:
    quad = _run(CompositeQuadrature(tolerance=0.01))
    exact = (_sigmoid(60 * 0.37) - _sigmoid(-60 * 0.63)) * np.array([0.7, 0.2, 0.1])
    assert quad.completeness_error <= 0.01
    assert np.allclose(quad.integral, exact, rtol=0.02)
    assert quad.evaluations < 256  # it stopped on the tolerance, not on the cap
    widths = sorted(s.b - s.a for s in quad.segments)
    assert widths[0] < widths[-1]  # refinement went where the integrand moves


def test_fixed_rule_with_few_nodes_misses_and_says_so() -> None:
    quad = _run(CompositeQuadrature(4, 1, None, 4))
    assert quad.evaluations == 4
    assert quad.completeness_error > 0.01


def test_step_cap_is_respected() -> None:
    quad = _run(CompositeQuadrature(tolerance=1e-12, max_evaluations=40, absolute_tolerance=0),
                sharpness=400.0)
    assert quad.evaluations <= 40


def test_fewer_nodes_on_the_last_segment_still_certify() -> None:
    """IG's default: Lobatto 5, 5 and 4 nodes on thirds of the path (endpoints shared: 12
    points, against 13 with 5 everywhere), refined until the segment errors sum under 1%."""
    lean = CompositeQuadrature(5, 3, 0.01, rule="gauss-lobatto", last_nodes=4)
    assert len(lean.pending_nodes()) == 12
    assert len(CompositeQuadrature(5, 3, 0.01, rule="gauss-lobatto").pending_nodes()) == 13
    assert [len(s.nodes) for s in lean._new] == [5, 5, 4]
    for sharpness in (10.0, 60.0, 200.0):
        quad = _run(CompositeQuadrature(5, 3, 0.01, rule="gauss-lobatto", last_nodes=4),
                    sharpness)
        exact = _sigmoid(sharpness * 0.37) - _sigmoid(-sharpness * 0.63)
        assert quad.completeness_error <= 0.01
        assert abs(quad.integral.sum() - exact) <= 0.011 * exact


def test_refinement_splits_only_what_the_tolerance_needs() -> None:
    """After a round, the worst segments are split until the unsplit ones' errors sum under
    the tolerance (not under half of it), and no fewer: the smallest split was needed."""
    quad = CompositeQuadrature(5, 3, 0.01, rule="gauss-lobatto")
    rounds_with_splits = 0
    while not quad.done:
        segments = list(quad.segments) + list(quad._new)
        _step(quad, 60.0)
        split = [seg for seg in segments if seg not in quad.segments]
        if not split:
            continue
        rounds_with_splits += 1
        scale = abs(quad.delta_f)
        kept = sum(abs(seg.error(quad.f)) for seg in quad.segments) / scale
        assert kept <= 0.01
        assert kept + min(abs(seg.error(quad.f)) for seg in split) / scale > 0.01
    assert rounds_with_splits >= 1


def _step(quad: CompositeQuadrature, sharpness: float) -> None:
    weights = np.array([0.7, 0.2, 0.1])
    asked = quad.pending_values()
    quad.supply_values(asked, [float(_sigmoid(sharpness * (a - 0.63))) for a in asked])
    nodes = np.array(quad.pending_nodes())
    s = _sigmoid(sharpness * (nodes - 0.63))
    quad.supply_integrand(np.outer(sharpness * s * (1 - s), weights))
