"""The corpus Validate view in a real headless Chromium: three sentences labelled with the
keyboard, one undone, the page reloaded and the decisions still there (and in the store), the
prediction hidden until asked for, sample text shown literally, and the Compare panel."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pytest

pytest.importorskip("fastapi")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from tests.unit.corpus_store import make_store  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402

XSS = '<img src=x onerror="window.__xss=1"> & <b>bold</b>'
SHOTS = Path(os.environ.get("TEXTLENS_SCREENSHOTS", "/tmp/textlens-screenshots"))


def _store(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    n = 40
    p = rng.uniform(0.05, 0.95, n)
    docs = [f"D{i // 8}" for i in range(n)]
    groups = ["FRA" if i < 20 else "USA" for i in range(n)]
    texts = [XSS if i % 5 == 0 else f"Sentence {i}: we welcome the agreement." for i in range(n)]
    return make_store(path, np.c_[1 - p, p], groups, docs, texts=texts)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from textlens.corpus.validation import draw_validation_sample

    root = tmp_path_factory.mktemp("validate")
    run_a, run_b = _store(root / "runa", 1), _store(root / "runb", 2)
    draw_validation_sample(run_a, 12, seed=0, classes=("negative", "neutral", "positive"))
    return run_a, run_b


@pytest.fixture(scope="module")
def base(runs):
    with serve_in_thread(create_app(open_runs(list(runs)))) as url:
        yield url


def progress(browser) -> str:
    """Read in one script: the view redraws on every key (an element found first may be gone)."""
    return browser.execute_script(
        "const p = document.getElementById('validate-progress'); return p ? p.textContent : ''")


def press(browser, key: str) -> None:
    ActionChains(browser).send_keys(key).perform()


def stored(run: Path) -> dict[str, str | None]:
    con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
    rows = con.execute("SELECT validation_id, label FROM validation_labels QUALIFY row_number() "
                       "OVER (PARTITION BY validation_id ORDER BY seq DESC) = 1").fetchall()
    con.close()
    return dict(rows)


def test_label_with_keys_undo_reload_persisted(browser, wait, base, runs):
    run_a, _ = runs
    browser.get(f"{base}/?run=runa&view=validate")
    wait(lambda: progress(browser).startswith("0 of 12"), 30, "the Validate view")
    assert not browser.find_elements(By.ID, "validate-prediction")  # hidden by default
    ids = browser.execute_script("return window.textlensValidate.data.items.slice(0, 3)"
                                 ".map((i) => i.validation_id)")
    for k, key in enumerate(["1", "3", "2"]):
        press(browser, key)
        wait(lambda k=k: progress(browser).startswith(f"{k + 1} of 12"), 10, f"label {k + 1}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "validate.png"))
    press(browser, "z")
    wait(lambda: progress(browser).startswith("2 of 12"), 10, "the undo")
    browser.refresh()
    wait(lambda: progress(browser).startswith("2 of 12"), 30, "the reloaded view")
    now = stored(run_a)
    assert [now.get(i) for i in ids] == ["negative", "positive", None]
    # After the reload the view opens on the first unlabelled sentence: the undone one.
    assert browser.execute_script(
        "return document.querySelector('.validate-card').dataset.id") == ids[2]
    press(browser, "p")
    shown = wait(lambda: browser.execute_script(
        "const p = document.getElementById('validate-prediction'); return p && p.textContent"),
        10, "the prediction")
    assert shown.startswith("model: ")


def test_sample_text_is_shown_literally(browser, wait, base):
    browser.get(f"{base}/?run=runa&view=validate")
    wait(lambda: progress(browser), 30, "the Validate view")
    texts = browser.execute_script("return window.textlensValidate.data.items.map((i) => i.text)")
    target = texts.index(XSS) if XSS in texts else None
    if target is not None:
        browser.execute_script(f"window.textlensValidate.index = {target}")
        press(browser, "ArrowRight")
        press(browser, "ArrowLeft")
        wait(lambda: browser.execute_script(
            "return document.getElementById('validate-text').textContent") == XSS, 10, "the text")
    assert browser.execute_script("return window.__xss") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#validate-main img, #validate-main b")


def test_compare_panel_with_a_second_run(browser, wait, base):
    browser.get(f"{base}/?run=runa&view=validate")
    wait(lambda: browser.find_elements(By.ID, "compare-go"), 30, "the Compare panel")
    browser.find_element(By.ID, "compare-go").click()
    wait(lambda: browser.find_elements(By.ID, "compare-accuracy"), 60, "the comparison")
    result = browser.find_element(By.ID, "compare-result").text
    assert "sentences changed label" in result and "naive" in result
    browser.save_screenshot(str(SHOTS / "validate-compare.png"))


def test_measure_panel_says_too_few(browser, wait, base):
    browser.get(f"{base}/?run=runa&view=validate")
    wait(lambda: browser.find_elements(By.ID, "measure-go"), 30, "the Measure panel")
    browser.find_element(By.ID, "measure-go").click()
    found = wait(lambda: browser.find_elements(By.ID, "measure-too-few"), 60, "the measures")
    assert "Not measured yet" in found[0].text and "labels" in found[0].text
