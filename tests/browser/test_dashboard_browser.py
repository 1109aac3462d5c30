"""The dashboard in a real headless Chromium: map drawn, click, lasso, review persisted across a
server restart, and dataset text shown literally without running any script."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import free_port, serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402

XSS = ['<img src=x onerror="window.__xss=1">',
       '</script><script>window.__xss=2</script>',
       '<svg onload="window.__xss=3"></svg> & &amp; "quoted"']


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return synthetic_run(tmp_path_factory.mktemp("runs") / "demo", n=600, seed=1, texts=XSS)


@pytest.fixture(scope="module")
def base(run_dir):
    with serve_in_thread(create_app(open_runs([run_dir]))) as url:
        yield url


def open_map(browser, wait, url):
    browser.get(url)
    wait(lambda: browser.execute_script("return window.textlens && window.textlens.drawnAt"),
         30, "the map to be drawn")


def coloured_pixels(browser) -> int:
    return browser.execute_script("""
        const c = document.getElementById('map'), gl = c.getContext('webgl');
        const px = new Uint8Array(c.width * c.height * 4);
        gl.readPixels(0, 0, c.width, c.height, gl.RGBA, gl.UNSIGNED_BYTE, px);
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) n++;
        return n;""")


def test_map_canvas_is_drawn(browser, wait, base):
    open_map(browser, wait, f"{base}/?run=demo")
    assert coloured_pixels(browser) > 2000  # 600 points of >= 3 px; a blank canvas has 0
    legend = browser.find_element(By.ID, "legend").text
    assert "negative" in legend and "positive" in legend


def test_click_a_point_opens_its_sample(browser, wait, base):
    open_map(browser, wait, f"{base}/?run=demo")
    target = 123
    x, y = browser.execute_script(f"return window.textlens.screenOf({target})")
    ActionChains(browser).move_by_offset(0, 0).perform()
    browser.execute_script("window.scrollTo(0, 0)")
    ActionChains(browser).move_to_element_with_offset(
        browser.find_element(By.TAG_NAME, "body"), 0, 0).perform()
    body = browser.find_element(By.TAG_NAME, "body").rect
    ActionChains(browser).move_to_element_with_offset(
        browser.find_element(By.TAG_NAME, "body"), int(x - body["width"] / 2),
        int(y - body["height"] / 2)).click().perform()
    wait(lambda: "sample=" in browser.current_url, 10, "the sample URL")
    sid = browser.current_url.split("sample=")[1].split("&")[0]
    # The clicked point is the one under the cursor: target itself or a point drawn on it.
    pos = browser.execute_script(f"""const m = window.textlens.map;
        const [x, y] = m.toScreen(m.xs[{target}], m.ys[{target}]); return m.pick(x, y, 8);""")
    assert sid == f"s{pos:06d}"
    panel = wait(lambda: browser.find_element(By.ID, "panel-sample").text, 10, "the sample view")
    wait(lambda: f"sample {sid}" in browser.find_element(By.ID, "panel-sample").text, 10, "sample")
    assert "most similar samples" in browser.find_element(By.ID, "panel-sample").text, panel


def test_lasso_selects_the_points_inside(browser, wait, base):
    from matplotlib.path import Path as Polygon

    open_map(browser, wait, f"{base}/?run=demo")
    browser.find_element(By.CSS_SELECTOR, '.modes button[data-mode="lasso"]').click()
    canvas = browser.find_element(By.ID, "map-overlay")
    box = canvas.rect
    cx, cy, r = box["width"] / 2, box["height"] / 2, min(box["width"], box["height"]) / 3
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = [(cx + r * np.cos(a), cy + r * 0.8 * np.sin(a)) for a in angles]
    chain = ActionChains(browser).move_to_element_with_offset(
        canvas, int(ring[0][0] - box["width"] / 2), int(ring[0][1] - box["height"] / 2)).click_and_hold()
    last = ring[0]
    for point in [*ring[1:], ring[0]]:
        chain.move_by_offset(int(point[0] - last[0]), int(point[1] - last[1]))
        last = (last[0] + int(point[0] - last[0]), last[1] + int(point[1] - last[1]))
    chain.release().perform()
    count = wait(lambda: browser.execute_script("return window.textlens.lastSummary && "
                                                "window.textlens.lastSummary.count"), 20, "summary")
    shown = browser.find_element(By.ID, "selection-count").text
    assert shown.startswith(f"{count:,} of 600")
    # Independently: which point centres lie inside the polygon the mouse drew (in CSS pixels).
    xy = np.array(browser.execute_script(
        "const m = window.textlens.map; "
        "return Array.from({length: m.n}, (_, i) => m.toScreen(m.xs[i], m.ys[i]));"))
    drawn, p = [ring[0]], ring[0]
    for point in [*ring[1:], ring[0]]:
        p = (p[0] + int(point[0] - p[0]), p[1] + int(point[1] - p[1]))
        drawn.append(p)
    inside = Polygon(drawn).contains_points(xy)
    assert 0 < count < 600 and abs(count - int(inside.sum())) <= 2


def test_text_is_shown_literally_and_runs_no_script(browser, wait, base):
    for k, raw in enumerate(XSS):
        open_map(browser, wait, f"{base}/?run=demo&sample=s{k:06d}")
        node = wait(lambda: browser.find_elements(By.ID, "sample-text"), 10, "the sample text")
        assert node[0].text == raw.strip()
        assert browser.execute_script("return window.__xss") is None
        assert browser.execute_script(
            "return document.querySelectorAll('#panel-sample img, #panel-sample svg, "
            "#panel-sample script').length") == 0
    browser.find_element(By.CSS_SELECTOR, '.panel-tabs button[data-panel="selection"]').click()
    browser.execute_script("setSelection([0, 1, 2, 3])")
    wait(lambda: XSS[0] in browser.find_element(By.ID, "panel-selection").text, 10, "the list")
    assert browser.execute_script("return window.__xss") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#panel-selection img")


def _server(run_dir, port):
    env = {**os.environ, "TEXTLENS_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "textlens.cli.main", "serve", str(run_dir),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("textlens serve did not start")


def test_a_review_survives_a_server_restart(browser, wait, tmp_path):
    run = synthetic_run(tmp_path / "review", n=200, seed=4)
    port = free_port()
    url = f"http://127.0.0.1:{port}/?run=review&view=issues"
    proc = _server(run, port)
    try:
        browser.get(url)
        card = wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".card.issue"), 20, "the queue")[0]
        sid = card.get_attribute("data-id")
        card.find_element(By.CSS_SELECTOR, "button.not-an-issue").click()
        wait(lambda: "decided: not_an_issue" in card.text, 10, "the decision to be stored")
    finally:
        proc.terminate()
        proc.wait(20)
    proc = _server(run, port)
    try:
        browser.get(url)  # the open queue no longer lists it...
        wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".card.issue"), 20, "the queue")
        ids = [c.get_attribute("data-id") for c in browser.find_elements(By.CSS_SELECTOR, ".card.issue")]
        assert sid not in ids
        browser.get(url + "&status=reviewed")  # ...the reviewed one does, with its decision
        card = wait(lambda: browser.find_elements(By.CSS_SELECTOR, f'.card.issue[data-id="{sid}"]'),
                    20, "the reviewed card")[0]
        assert "decided: not_an_issue" in card.text
    finally:
        proc.terminate()
        proc.wait(20)


def test_filters_and_views_live_in_the_url(browser, wait, base, run_dir):
    import duckdb

    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    n_val = con.execute("SELECT count(*) FROM samples WHERE split = 'validation'").fetchone()[0]
    con.close()
    open_map(browser, wait, f"{base}/?run=demo&f=split:validation&color=cluster")
    visible = wait(lambda: browser.execute_script(
        "const v = window.textlens.state.visible; return v && v.reduce((a, b) => a + b, 0)"),
        10, "the filter")
    assert visible == n_val
    assert "split = validation" in browser.find_element(By.ID, "filter-chips").text
    assert browser.find_element(By.ID, "color-by").get_attribute("value") == "cluster"
    browser.get(f"{base}/?run=demo&view=issues")
    wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".card.issue"), 20, "the queue")
    assert "Label review queue" in browser.find_element(By.ID, "view-issues").text


def test_hover_shows_the_text_and_a_box_selects(browser, wait, base):
    open_map(browser, wait, f"{base}/?run=demo")
    canvas = browser.find_element(By.ID, "map-overlay")
    box = canvas.rect
    target = browser.execute_script("""const m = window.textlens.map;
        for (let i = 0; i < m.n; i++) { const [x, y] = m.toScreen(m.xs[i], m.ys[i]);
          if (m.pick(x, y, 8) === i) return i; } return -1;""")
    x, y = browser.execute_script(
        f"const m = window.textlens.map; return m.toScreen(m.xs[{target}], m.ys[{target}])")
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(x - box["width"] / 2), int(y - box["height"] / 2)).perform()
    text = browser.execute_script(
        f"return getJSON(runPath('texts?positions={target}')).then(r => r['{target}'].text)")
    wait(lambda: text in browser.find_element(By.ID, "tooltip").text, 10, "the hover text")
    browser.find_element(By.CSS_SELECTOR, '.modes button[data-mode="box"]').click()
    left, top = box["width"] * 0.25, box["height"] * 0.25
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(left - box["width"] / 2), int(top - box["height"] / 2)).click_and_hold(
    ).move_by_offset(int(box["width"] * 0.5), int(box["height"] * 0.5)).release().perform()
    count = wait(lambda: browser.execute_script("return window.textlens.lastSummary && "
                                                "window.textlens.lastSummary.count"), 20, "summary")
    xy = np.array(browser.execute_script(
        "const m = window.textlens.map; "
        "return Array.from({length: m.n}, (_, i) => m.toScreen(m.xs[i], m.ys[i]));"))
    x0, y0 = int(left - box["width"] / 2) + box["width"] / 2, int(top - box["height"] / 2) + box["height"] / 2
    x1, y1 = x0 + int(box["width"] * 0.5), y0 + int(box["height"] * 0.5)
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert abs(count - int(inside.sum())) <= 2 and count > 0
