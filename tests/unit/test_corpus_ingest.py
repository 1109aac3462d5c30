"""Ingest: junk files are listed with the real reason, tables keep their columns, --where filters."""

from __future__ import annotations

import pandas as pd
import pytest

from textlens.corpus.ingest import ingest
from textlens.corpus.select import check_filter, filter_documents
from textlens.errors import DataError


def make_folder(root):
    session = root / "Session 71 - 2016"
    session.mkdir(parents=True)
    (session / "USA_71_2016.txt").write_text("We stand together. Peace matters.", encoding="utf-8")
    (session / "FRA_71_2016.txt").write_text("\ufeffLa paix. Peace is good.", encoding="utf-8")
    (session / "._USA_71_2016.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (session / "DEU_71_2016.txt").write_bytes(b"")
    (session / "GBR_71_2016.txt").write_bytes("We met in Gen\u00e8ve today.".encode("latin-1"))
    (root / "README.txt").write_text("About this corpus.", encoding="utf-8")
    return root


def test_folder_ingest_lists_every_unusable_file_with_its_cause(tmp_path):
    corpus = ingest(make_folder(tmp_path / "c"))
    assert [d.doc_id for d in corpus.documents] == ["Session 71 - 2016/FRA_71_2016.txt",
                                                    "Session 71 - 2016/USA_71_2016.txt"]
    assert corpus.documents[1].metadata == {"session": 71, "year": 2016, "country": "USA"}
    reasons = {b.path: b.reason for b in corpus.bad_files}
    assert reasons["Session 71 - 2016/._USA_71_2016.txt"].startswith("AppleDouble metadata file")
    assert reasons["Session 71 - 2016/DEU_71_2016.txt"] == "empty"
    # 'We met in Gen' is 13 bytes, then latin-1 è = 0xe8
    assert reasons["Session 71 - 2016/GBR_71_2016.txt"] == "not UTF-8 (byte 0xe8 at 13)"
    assert reasons["README.txt"] == "path does not match --path-pattern"
    assert corpus.read(corpus.documents[0]).text == "La paix. Peace is good."  # BOM dropped


def test_custom_pattern_and_its_errors(tmp_path):
    root = tmp_path / "speeches"
    root.mkdir()
    (root / "2019-uk.txt").write_text("Hello there.", encoding="utf-8")
    corpus = ingest(root, path_pattern=r"(?P<year>\d{4})-(?P<who>\w+)")
    assert corpus.documents[0].metadata == {"year": 2019, "who": "uk"}
    with pytest.raises(DataError, match="no named groups"):
        ingest(root, path_pattern=r"\d{4}")
    with pytest.raises(DataError, match="matches none"):
        ingest(root, path_pattern=r"(?P<country>[A-Z]{3})_")
    with pytest.raises(DataError, match="not a valid regular expression"):
        ingest(root, path_pattern=r"(?P<year>\d{4}")


def test_missing_and_empty_folders_are_refused(tmp_path):
    with pytest.raises(DataError, match="neither"):
        ingest(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no files"):
        ingest(tmp_path / "empty")


def test_table_ingest_keeps_metadata_and_lists_empty_rows(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"speech": ["Good news.", "", "Bad news."], "party": ["A", "B", "C"],
                  "year": [2020, 2021, 2022]}).to_csv(path, index=False)
    corpus = ingest(path, text_col="speech")
    assert [d.metadata for d in corpus.documents] == [{"party": "A", "year": 2020},
                                                      {"party": "C", "year": 2022}]
    # named by file line (the header is line 1), as data.table names rejected rows
    assert [(b.path, b.reason) for b in corpus.bad_files] == [("t.csv:3", "empty speech")]
    assert [d.path for d in corpus.documents] == ["t.csv:2", "t.csv:4"]
    assert corpus.read(corpus.documents[1]).text == "Bad news."
    with pytest.raises(DataError, match="Column 'text'"):
        ingest(path)


def test_table_ingest_names_jsonl_rows_by_file_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "One."}\n\n{"text": " "}\n{"text": "Two."}\n', encoding="utf-8")
    corpus = ingest(path)
    assert [(b.path, b.reason) for b in corpus.bad_files] == [("t.jsonl:3", "empty text")]
    assert [d.path for d in corpus.documents] == ["t.jsonl:1", "t.jsonl:4"]


def test_where_filters_metadata_and_refuses_other_sql():
    frame = pd.DataFrame({"doc_id": ["a", "b", "c"], "country": ["USA", "FRA", "DEU"],
                          "year": [2016, 2018, 2020]})
    assert filter_documents(frame, "country IN ('USA','FRA') AND year >= 2018") == ["b"]
    assert filter_documents(frame, "lower(country) = 'deu' OR year < 2017") == ["a", "c"]
    columns = list(frame.columns)
    for bad, message in [("year > 1; DROP TABLE documents", "comment or `;`"),
                         ("doc_id IN (SELECT doc_id FROM documents)", "not part of a filter"),
                         ("read_csv('/etc/passwd') IS NULL", "not an allowed function"),
                         ("yeer > 3", "not a metadata column"), ("year > 1 -- c", "comment")]:
        with pytest.raises(DataError, match=message):
            check_filter(bad, columns)
    with pytest.raises(DataError, match="failed on the metadata"):
        filter_documents(frame, "year > ")
