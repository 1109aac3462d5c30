"""The run store: a rerun of the analysis into the same folder keeps the dashboard's reviews."""

from __future__ import annotations

import pandas as pd

from textlens.store.run_db import query, write_run_db


def test_rerun_keeps_reviews_and_slices_but_replaces_analysis_tables(tmp_path):
    import duckdb

    write_run_db(tmp_path, {"samples": pd.DataFrame({"id": ["a", "b"], "loss": [0.1, 0.2]})}, {"v": 1})
    con = duckdb.connect(str(tmp_path / "textlens.duckdb"))
    con.execute("CREATE TABLE reviews AS SELECT 'a' AS id, 'mislabelled' AS decision")
    con.execute("CREATE TABLE saved_slices AS SELECT 'low' AS name, ['a'] AS ids")
    con.execute("CREATE TABLE explanation_cache AS SELECT 'a' AS id")
    con.close()

    write_run_db(tmp_path, {"samples": pd.DataFrame({"id": ["c"], "loss": [0.3]})}, {"v": 2})

    assert list(query(tmp_path, "SELECT id FROM samples")["id"]) == ["c"]
    assert query(tmp_path, "SELECT id, decision FROM reviews").to_dict("records") == [
        {"id": "a", "decision": "mislabelled"}]
    assert list(query(tmp_path, "SELECT name FROM saved_slices")["name"]) == ["low"]
    tables = set(query(tmp_path, "SHOW TABLES")["name"])
    assert "explanation_cache" not in tables  # cached explanations belong to the old model
