"""What a new user sees: bidi controls shown as visible markers (the stored text stays exact),
an unknown run named with the runs served, the review queue opening on the flagged issues with
every ranked row one click away, and a corpus view whose chart and heatmaps say what they show."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytest.importorskip("fastapi")
from selenium.webdriver.common.by import By  # noqa: E402

from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_corpus_run, synthetic_run  # noqa: E402

SPOOF = "invoice \u202egnp.exe\u202c done \u2067x\u2069"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = [synthetic_run(root / "demo", n=300, seed=5, texts=[SPOOF]),
            synthetic_corpus_run(root / "speeches", explained=30)]
    with serve_in_thread(create_app(open_runs(runs))) as url:
        yield url


def test_bidi_controls_are_shown_as_markers_and_stored_exactly(browser, wait, base):
    browser.get(f"{base}/?run=demo&sample=s000000")
    text, direction = wait(lambda: browser.execute_script(
        "const n = document.getElementById('sample-text'); return n && [n.textContent, n.dir]"),
        20, "the sample text")
    assert text == "invoice ⟨RLO⟩gnp.exe⟨PDF⟩ done ⟨RLI⟩x⟨PDI⟩"
    assert direction == "auto"
    with urllib.request.urlopen(f"{base}/api/runs/demo/texts?positions=0") as r:
        assert json.loads(r.read())["0"]["text"] == SPOOF  # the data itself is untouched


def test_an_unknown_run_is_named_and_the_served_runs_listed(browser, wait, base):
    browser.get(f"{base}/?run=no-such-run")
    title = wait(lambda: browser.find_elements(By.ID, "notice-title"), 20, "the notice")[0]
    assert 'No run named "no-such-run"' in title.text
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#view-notice a")]
    assert links == ["demo", "speeches"]
    assert browser.find_element(By.ID, "view-map").get_attribute("hidden") is not None


def test_the_review_queue_opens_on_the_flagged_issues(browser, wait, base):
    with urllib.request.urlopen(f"{base}/api/runs/demo/issues?flagged=true&limit=1") as r:
        flagged = json.loads(r.read())["total"]
    with urllib.request.urlopen(f"{base}/api/runs/demo/issues?limit=1") as r:
        ranked = json.loads(r.read())["total"]
    assert 0 < flagged < ranked
    browser.get(f"{base}/?run=demo&view=issues")
    wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".card.issue"), 20, "the queue")
    assert browser.find_element(By.ID, "issues-flagged").text == f"flagged ({flagged})"
    assert f"{flagged} open flagged issues" in browser.find_element(By.ID, "issues-total").text
    browser.find_element(By.ID, "issues-all").click()
    wait(lambda: f"{ranked} open ranked rows" in browser.find_element(By.ID, "issues-total").text,
         20, "every ranked row")
    assert "issues=all" in browser.current_url


def test_the_corpus_view_explains_its_chart_and_colours(browser, wait, base):
    browser.get(f"{base}/?run=speeches")
    view = wait(lambda: browser.find_element(By.ID, "view-corpus").text, 20, "the corpus view")
    assert "whiskers: 95% intervals" in view
    assert "towards positive" in view and "towards negative" in view
    backgrounds = browser.execute_script(
        "return [...document.querySelectorAll('#view-corpus .heat span.w')]"
        ".map((s) => getComputedStyle(s).backgroundColor)")
    assert backgrounds, "word heatmaps"
    colours = {b.split(",")[1].strip() for b in backgrounds}
    assert colours <= {"128", "28"}, colours  # report/corpus_plots.py green 21,128,61 / red 185,28,28


def test_the_corpus_view_names_countries_and_counts_each_stratum(browser, wait, base):
    browser.get(f"{base}/?run=speeches")
    view = wait(lambda: browser.find_element(By.ID, "view-corpus").text, 20, "the corpus view")
    assert "(20 of 30 sampled sentences)" in view  # the store holds 30 per stratum, 20 shown
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#view-corpus table td")]
    assert "France" in cells and "FRA" not in cells  # named as the report names them
