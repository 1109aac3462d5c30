"""Loaders: good rows kept, bad rows counted with reasons, errors that name the fix."""

from __future__ import annotations

import json

import pytest

from textlens.data import load_dataset, load_table, load_text_folder
from textlens.data.folder import UNGDC_PATTERN
from textlens.data.locate import locate
from textlens.data.squad import load_squad, parse_squad, title_split
from textlens.errors import DataError


def test_table_keeps_metadata_and_counts_bad_rows(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label,country\ngood film,pos,FR\n,neg,DE\nbad film,,US\nmeh,neg,UK\n",
                    encoding="utf-8")
    data = load_table(path, "text", "label")
    assert [e.text for e in data] == ["good film", "meh"]
    assert data.label_names == ("neg", "pos")
    assert [e.label for e in data] == [1, 0]
    assert data[0].metadata == {"country": "FR"}
    reasons = sorted(b.reason for b in data.bad_rows)
    assert reasons == ["empty text", "missing label"]
    assert "2 rejected" in data.bad_rows_summary()


def test_missing_column_lists_existing_columns(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("sentence\tlabel\nhello\t1\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")
    message = str(info.value)
    assert "'text'" in message and "sentence, label" in message and "--text-col" in message


def test_non_utf8_table_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8"):
        load_table(path, "text", "label")


def test_jsonl_and_parquet_tables(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"body": ["a", "b"], "y": [0, 1], "year": [2016, 2017]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.parquet", "t.jsonl"):
        data = load_dataset(str(tmp_path / name), text_col="body", label_col="y")
        assert [e.label for e in data] == [0, 1]
        assert data[1].metadata["year"] == 2017


def test_squad_rejects_answers_not_in_context():
    payload = {"data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "ok", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]},
        {"id": "bad", "question": "Who?", "answers": [{"text": "Berlin", "answer_start": 0}]},
    ]}]}]}
    examples, bad = parse_squad(payload, "x.json")
    assert [e.id for e in examples] == ["ok"]
    assert bad[0].where == "bad" and "not found" in bad[0].reason


def test_squad_title_split_is_deterministic_disjoint_and_80_20(tmp_path):
    titles = [f"Article_{i}" for i in range(50)]
    first, second = title_split(titles), title_split(list(reversed(titles)))
    assert first == second and len(first) == 40
    payload = {"data": [{"title": t, "paragraphs": [{"context": "x y z", "qas": [
        {"id": t, "question": "q?", "answers": [{"text": "y", "answer_start": 2}]}]}]}
        for t in titles]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    train, val = load_squad("train", path=path), load_squad("validation", path=path)
    assert {e.title for e in train}.isdisjoint({e.title for e in val})
    assert len(train) == 40 and len(val) == 10
    assert {e.metadata["split"] for e in load_squad("all", path=path)} == {"train", "validation"}


def test_text_folder_parses_metadata_and_counts_unreadable(tmp_path):
    session = tmp_path / "Session 71 - 2016"
    session.mkdir()
    (session / "FRA_71_2016.txt").write_text("Bonjour. Merci.", encoding="utf-8")
    (session / "EU_71_2016.txt").write_text("Hello.", encoding="utf-8")
    (session / "DEU_71_2016.txt").write_bytes(b"\xff\xfe broken")
    (tmp_path / "notes.txt").write_text("stray file", encoding="utf-8")
    data = load_text_folder(tmp_path, UNGDC_PATTERN)
    assert {e.metadata["country"] for e in data} == {"FRA", "EU"}
    assert data[0].metadata["year"] == 2016
    reasons = sorted(b.reason for b in data.bad_rows)
    assert reasons[0].startswith("not UTF-8") and "does not match" in reasons[1]


def test_missing_file_error_names_file_place_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLENS_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("TEXTLENS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError) as info:
        locate("sst2/dev.tsv")
    message = str(info.value)
    assert "sst2/dev.tsv" in message and str(tmp_path / "nowhere") in message
    assert "TEXTLENS_DATA" in message


def test_unknown_dataset_and_split_are_explained(tmp_path):
    with pytest.raises(DataError, match="Unknown dataset"):
        load_dataset("imdb")
    with pytest.raises(DataError, match="no split 'test'"):
        load_squad("test", path=tmp_path / "x.json")
