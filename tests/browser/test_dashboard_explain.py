"""The sample view's method picker in a real headless Chromium: picking lrp shows an lrp
explanation with its own evidence (conservation error, the absorbed part)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

from textlens.models import save_model  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402


def test_picking_lrp_shows_an_lrp_explanation(browser, wait, tmp_path, make_tiny):
    model_dir = tmp_path / "model"
    save_model(make_tiny("classification", seed=4), model_dir)
    run = synthetic_run(tmp_path / "demo", n=60, seed=2, model=str(model_dir))
    with serve_in_thread(create_app(open_runs([run]))) as url:
        browser.get(f"{url}/?run=demo&sample=s000007")
        block = lambda: browser.find_element(By.ID, "explanation-prediction")  # noqa: E731
        picker = wait(lambda: browser.find_elements(By.ID, "explain-method"), 30, "the picker")[0]
        names = [o.get_attribute("value") for o in Select(picker).options]
        assert names[0] != "loss" and {"ig", "lrp", "shap", "lime"} <= set(names)
        assert Select(picker).first_selected_option.get_attribute("value") == "ig"
        Select(picker).select_by_value("lrp")
        evidence = wait(lambda: "(lrp)" in block().text and block().text, 60, "lrp's explanation")
        assert "conservation error" in evidence and "absorbed by the rules" in evidence
        assert "completeness error" not in evidence
        assert block().find_elements(By.CSS_SELECTOR, ".heat, [data-score], span")
        shots = Path(os.environ.get("TEXTLENS_SCREENSHOTS", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(shots / "explain-lrp.png"))
        # Back to IG: its own evidence, from the cache or computed.
        Select(browser.find_element(By.ID, "explain-method")).select_by_value("ig")
        evidence = wait(lambda: "(ig)" in block().text and block().text, 60, "IG's explanation")
        assert "completeness error" in evidence and "conservation error" not in evidence
