"""The map at scale, CI-sized: levels of detail thin the drawing at low zoom but never a
selection (a lasso around a point that is not drawn still selects it), every point drawn when
zoomed in, exact box counts, and search. The same code paths as a 1M-point run, on 20k points.
Needs the server's levels of detail and /select (docs/dashboard.md); skips without them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402

N = 20_000


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    return synthetic_run(tmp_path_factory.mktemp("runs") / "big", n=N, seed=2)


@pytest.fixture(scope="module")
def big(big_run):
    with serve_in_thread(create_app(open_runs([big_run]))) as url:
        yield url


def open_big(browser, wait, base):
    browser.get(f"{base}/?run=big")
    wait(lambda: browser.execute_script("return window.textlens && window.textlens.drawnAt"),
         60, "the map to be drawn")
    if not browser.execute_script("return Boolean(window.textlens.state.meta.lod)"):
        pytest.skip("this server has no levels of detail / shape selection yet")


def screen_xy(browser) -> np.ndarray:
    return np.array(browser.execute_script(
        "const m = window.textlens.map; "
        "return Array.from({length: m.n}, (_, i) => m.toScreen(m.xs[i], m.ys[i]));"))


def summary_count(browser, wait) -> int:
    """The count of the selection summary shown once the map highlights the selection."""
    return wait(lambda: browser.execute_script(
        "const s = window.textlens.lastSummary, sel = window.textlens.state.selection;"
        "return s && sel && (sel.bits || sel.positions) ? s.count : null"),
        30, "the selection summary")


def drag_ring(browser, ring) -> list[tuple[float, float]]:
    """Drag the mouse through `ring` (CSS px in the overlay); returns the path it really took."""
    canvas = browser.find_element(By.ID, "map-overlay")
    box = canvas.rect
    chain = ActionChains(browser).move_to_element_with_offset(
        canvas, int(ring[0][0] - box["width"] / 2), int(ring[0][1] - box["height"] / 2))
    chain.click_and_hold()
    drawn, last = [(int(ring[0][0] - box["width"] / 2) + box["width"] / 2,
                    int(ring[0][1] - box["height"] / 2) + box["height"] / 2)], ring[0]
    for point in [*ring[1:], ring[0]]:
        dx, dy = int(point[0] - last[0]), int(point[1] - last[1])
        chain.move_by_offset(dx, dy)
        last = (last[0] + dx, last[1] + dy)
        drawn.append((drawn[-1][0] + dx, drawn[-1][1] + dy))
    chain.release().perform()
    return drawn


def test_a_point_hidden_at_low_zoom_is_still_selected(browser, wait, big):
    from matplotlib.path import Path as Polygon

    open_big(browser, wait, big)
    drawn, level = browser.execute_script(
        "const m = window.textlens.map; return [m.drawnCount(), m.level()];")
    assert drawn < N, "at the fitted zoom the map should draw a subset"
    # A point not drawn at this zoom, well inside the canvas.
    hidden = browser.execute_script("""const m = window.textlens.map, K = m.level();
        for (let i = 0; i < m.n; i++) { const [x, y] = m.toScreen(m.xs[i], m.ys[i]);
          if (m.lod[i] > K && x > 60 && y > 60 && x < m.cssW - 60 && y < m.cssH - 60) return i; }
        return -1;""")
    assert hidden >= 0
    browser.find_element(By.CSS_SELECTOR, '.modes button[data-mode="lasso"]').click()
    cx, cy = screen_xy(browser)[hidden]
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    ring = [(cx + 14 * np.cos(a), cy + 14 * np.sin(a)) for a in angles]
    path = drag_ring(browser, ring)
    count = summary_count(browser, wait)
    xy = screen_xy(browser)
    inside = Polygon(path).contains_points(xy)
    assert inside[hidden], "the lasso should surround the hidden point"
    assert abs(count - int(inside.sum())) <= 2  # every point, drawn or not (±2: pixel rounding)
    lod = np.array(browser.execute_script("return Array.from(window.textlens.map.lod)"))
    assert (inside & (lod <= level)).sum() < inside.sum(), "some selected points are not drawn"
    assert wait(lambda: browser.execute_script(  # highlighted: its bit is set in the selection
        "const b = window.textlens.state.selection.bits, i = arguments[0];"
        "return b && (b[i >> 3] >> (i & 7)) & 1", hidden),
        10, "the selection bitmap") == 1
    # ...and drawn on top at this zoom, with every other selected point.
    assert wait(lambda: browser.execute_script("return window.textlens.map.extra.n") == count,
                10, "the selected points drawn on top")


def test_zoomed_in_every_point_is_drawn_and_a_box_count_is_exact(browser, wait, big):
    open_big(browser, wait, big)
    assert browser.execute_script("""const m = window.textlens.map;
        m.view.zoom *= 4096; m.draw(); const all = m.drawnCount(); m.fit(); return all;""") == N
    browser.find_element(By.CSS_SELECTOR, '.modes button[data-mode="box"]').click()
    canvas = browser.find_element(By.ID, "map-overlay")
    box = canvas.rect
    w, h = box["width"], box["height"]
    ActionChains(browser).move_to_element_with_offset(canvas, int(-w / 3), int(-h / 3)).click_and_hold(
    ).move_by_offset(int(w * 2 / 3), int(h * 2 / 3)).release().perform()
    count = summary_count(browser, wait)
    xy = screen_xy(browser)
    x0, y0 = int(-w / 3) + w / 2, int(-h / 3) + h / 2
    x1, y1 = x0 + int(w * 2 / 3), y0 + int(h * 2 / 3)
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert abs(count - int(inside.sum())) <= 2 and count > N // 4
    assert browser.execute_script("return window.textlens.lastSummary.total") == N


def test_search_highlights_and_selects_the_matches(browser, wait, big, big_run):
    import duckdb

    open_big(browser, wait, big)
    con = duckdb.connect(str(big_run / "textlens.duckdb"), read_only=True)
    expect = {q: con.execute(sql, [arg]).fetchone()[0] for q, sql, arg in [
        ("gripping", "SELECT count(*) FROM samples WHERE text ILIKE ?", "%gripping%"),
        ("^the (plot|image) was", "SELECT count(*) FROM samples WHERE regexp_matches(text, ?)",
         "(?i)^the (plot|image) was")]}
    con.close()
    box = browser.find_element(By.ID, "search-text")
    for query, regex in (("gripping", False), ("^the (plot|image) was", True)):
        if browser.find_element(By.ID, "search-regex").is_selected() != regex:
            browser.find_element(By.ID, "search-regex").click()
        browser.execute_script("window.textlens.lastSummary = null")
        box.clear()
        box.send_keys(query, Keys.ENTER)
        count = summary_count(browser, wait)
        assert count == expect[query] > 0
        assert browser.execute_script("return window.textlens.state.selection.count") == count
        assert f"{count:,} of {N:,}" in browser.find_element(By.ID, "selection-count").text
    box.clear()
    box.send_keys("(unclosed", Keys.ENTER)  # regex still on: the compiler's message, no crash
    wait(lambda: "error" in browser.find_element(By.ID, "status").get_attribute("class"), 10, "error")
    browser.find_element(By.ID, "search-regex").click()
    box.clear()
    box.send_keys("zzzz-no-such-text", Keys.ENTER)
    wait(lambda: "zzzz-no-such-text" in browser.find_element(By.ID, "status").text, 10,
         "the no-match message")
    assert browser.execute_script("return window.textlens.state.selection") is None
