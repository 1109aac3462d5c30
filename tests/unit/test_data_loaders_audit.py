"""Loader audit: empty file, header only, blank rows, BOM, CRLF, quoted newlines, duplicated
column names, malformed JSON Lines, and a large table streamed in chunks, not read whole."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from textlens.data import load_dataset, load_table
from textlens.data.table import iter_table
from textlens.errors import DataError


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_empty_file_is_a_data_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        load_table(path, "text", None)


@pytest.mark.parametrize("content", ["text,label\n", "text,label\r\n", "text,label"])
def test_header_only_is_refused(tmp_path, content):
    path = tmp_path / "header.csv"
    path.write_text(content, encoding="utf-8", newline="")
    with pytest.raises(DataError, match="header but no rows"):
        load_table(path, "text", "label")


def test_only_blank_rows_are_reported_not_dropped(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("text\n\n   \n\n", encoding="utf-8")
    data = load_table(path, "text", None)
    assert len(data) == 0 and len(data.bad_rows) == 3
    assert {b.reason for b in data.bad_rows} == {"empty text"}
    with pytest.raises(DataError, match="No usable rows: .*3 rejected"):
        data.require_rows()


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_bom_and_crlf(tmp_path, suffix, sep):
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(("\ufefftext" + sep + "label\r\ngood film" + sep + "1\r\nbad" + sep
                      + "0\r\n").encode("utf-8"))
    data = load_table(path, "text", "label")
    assert [e.text for e in data] == ["good film", "bad"]  # no BOM in the column, no \r
    assert [e.label for e in data] == [1, 0]


def test_bom_jsonl(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "a", "y": 1}\r\n{"text": "b", "y": 0}\r\n')
    assert [(e.text, e.label) for e in load_table(path, "text", "y")] == [("a", 1), ("b", 0)]


def test_quoted_newline_stays_in_its_cell(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,text\n1,"first line\nsecond, line"\n2,plain\n', encoding="utf-8")
    data = load_table(path, "text", None, id_col="id")
    assert [e.text for e in data] == ["first line\nsecond, line", "plain"]
    assert [e.id for e in data] == ["1", "2"]


@pytest.mark.parametrize("suffix,content", [
    (".csv", "text,label,text\na,1,b\n"), (".tsv", "text\tx\tx\na\t1\t2\n"),
    (".jsonl", '{"text": "a", "text": "b"}\n')])
def test_duplicated_column_names_are_refused(tmp_path, suffix, content):
    path = tmp_path / f"dup{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="duplicated column names"):
        load_table(path, "text", None)


def test_malformed_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DataError, match="Line 2 .* not valid JSON"):
        load_table(path, "text", None)


def test_numeric_looking_text_stays_text(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("text,label\n007,1\n1e3,0\n", encoding="utf-8")
    assert [e.text for e in load_table(path, "text", "label")] == ["007", "1e3"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_chunked_loading_matches_and_reports_rows_across_chunks(tmp_path, suffix):
    import pandas as pd

    texts = [f"text {i}" if i % 7 else "" for i in range(1, 101)]
    frame = pd.DataFrame({"text": texts, "label": [i % 2 for i in range(100)],
                          "year": [2000 + i for i in range(100)]})
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    whole = load_table(path, "text", "label")
    chunked = load_table(path, "text", "label", chunk_rows=9)
    assert chunked.examples == whole.examples and chunked.bad_rows == whole.bad_rows
    # where an editor finds them: CSV/TSV line (header = line 1), JSONL line, Parquet row
    where = {".csv": "t.csv:{}", ".tsv": "t.tsv:{}", ".jsonl": "t.jsonl:{}",
             ".parquet": "t.parquet row {}"}[suffix]
    line = 1 if suffix in {".csv", ".tsv"} else 0
    expected_bad = [where.format(i + line) for i in range(1, 101) if i % 7 == 0]
    assert [b.where for b in chunked.bad_rows] == expected_bad
    assert len(chunked) == 100 - len(expected_bad)
    assert int(chunked[0].metadata["year"]) == 2000


def test_large_table_is_streamed_not_read_whole(tmp_path):
    """A ~24 MB CSV iterated row by row: peak Python memory stays a fraction of the file (read
    whole, its strings alone would take more than the file)."""
    path = tmp_path / "big.csv"
    row = "x" * 200
    with path.open("w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        for i in range(120_000):
            handle.write(f"{row} {i},{i % 2}\n")
    size = path.stat().st_size
    tracemalloc.start()
    count = 0
    for _item in iter_table(path, "text", "label", chunk_rows=2_000):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 120_000
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_load_dataset_table_error_through_cli(tmp_path):
    from typer.testing import CliRunner

    from textlens.cli.main import app

    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = CliRunner().invoke(app, ["data", "check", str(path)])
    assert result.exit_code != 0 and isinstance(result.exception, DataError)
    assert "is empty" in str(result.exception)
    with pytest.raises(DataError):
        load_dataset(str(path))


def test_squad_json_edge_cases(tmp_path):
    from textlens.data.squad import load_squad

    payload = {"data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "ok", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]}]}]},
        "not an article"]}
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(payload).replace("\n", "\r\n").encode())
    data = load_squad("all", path=bom)
    assert [e.id for e in data] == ["ok"] and len(data.bad_rows) == 1
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        load_squad("all", path=empty)
    none = tmp_path / "none.json"
    none.write_text(json.dumps({"data": []}))
    with pytest.raises(DataError, match="no questions"):
        load_squad("all", path=none)
    broken = tmp_path / "broken.json.zip"
    broken.write_bytes(b"PK not really")
    with pytest.raises(DataError, match="zip"):
        load_squad("all", path=broken)
