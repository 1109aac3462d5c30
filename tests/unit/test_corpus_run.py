"""The whole corpus run on a tiny model: tables, every sentence once, resume after SIGKILL,
escaped report, and bad input refused before RUN is touched."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.corpus.engine import EngineOptions, segment_documents
from textlens.corpus.ingest import ingest
from textlens.corpus.pipeline import CorpusOptions, run
from textlens.corpus.sampling import SamplingOptions

SENTENCES = ["We welcome the agreement on climate.", "The war brings misery and pain.",
             "Our people hope for peace.", "Terrorism is a grave threat.",
             "We thank the Secretary-General.", "Poverty remains <script>alert(1)</script>."]


def make_corpus(root: Path, countries=("USA", "FRA", "PRK"), years=(2016, 2017)) -> Path:
    for year in years:
        session = root / f"Session {year - 1945} - {year}"
        session.mkdir(parents=True, exist_ok=True)
        for k, country in enumerate(countries):
            body = " ".join(SENTENCES[(k + year + i) % len(SENTENCES)] for i in range(5 + k))
            text = f"Mr. President,\n{body}\n12\nThank you."
            (session / f"{country}_{year - 1945}_{year}.txt").write_text(text, encoding="utf-8")
        (session / f"._USA_{year - 1945}_{year}.txt").write_bytes(b"\x00\x05\x16\x07Mac")
    return root


@pytest.fixture
def model_dir(tiny_classifier, tmp_path):
    from textlens.models.loading import save_model

    return save_model(tiny_classifier, tmp_path / "model")


def expected_sentences(root: Path) -> int:
    corpus = ingest(root)
    return len(segment_documents([corpus.read(d) for d in corpus.documents]))


FAST = CorpusOptions(sampling=SamplingOptions(size=6, near=0.9, clear=0.95), n_boot=50,
                     documents_per_batch=2, engine=EngineOptions(batch_size=4))


def test_run_writes_every_table_and_sentence_once(tiny_classifier, tmp_path):
    root = make_corpus(tmp_path / "ungdc")
    result = run(tiny_classifier, root, tmp_path / "run", FAST, progress=False)
    assert result.n_documents == 6 and result.n_sentences == expected_sentences(root)
    con = duckdb.connect(str(tmp_path / "run" / "textlens.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert {"documents", "sentences", "groups", "explanations", "bad_files"} <= tables
    assert con.execute("SELECT count(*), count(DISTINCT (doc_id, sentence_id)) FROM sentences"
                       ).fetchone() == (result.n_sentences, result.n_sentences)
    # groups recomputed independently in SQL from the stored sentences
    check = con.execute("""SELECT d.country, d.year, count(*) AS n,
                                  sum(CASE WHEN s.label = 'positive' THEN 1 ELSE -1 END) AS net
                           FROM sentences s JOIN documents d USING (doc_id)
                           GROUP BY 1, 2 ORDER BY 1, 2""").fetchdf()
    groups = con.execute("SELECT * FROM groups ORDER BY country, year").fetchdf()
    assert list(groups.n_sentences) == list(check.n) and list(groups.net_sentiment) == list(check.net)
    texts = con.execute('SELECT d.path, s.text, s."start", s."end" FROM sentences s '
                        "JOIN documents d USING (doc_id)").fetchall()
    for path, text, start, end in texts:
        assert (root / path).read_text()[start:end].split() == text.split()
    assert con.execute("SELECT count(*) FROM bad_files WHERE reason LIKE 'AppleDouble%'"
                       ).fetchone()[0] == 2
    explained = con.execute("SELECT stratum, completeness_error FROM explanations").fetchdf()
    assert len(explained) > 0 and explained.completeness_error.notna().all()
    con.close()
    page = result.report.read_text()
    assert "<script>alert(1)" not in page
    # plotly.js once beside the page, never from the network
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page) == ["plotly.min.js"]
    assert (result.report.parent / "plotly.min.js").is_file()
    assert pd.read_csv(tmp_path / "run" / "groups.csv").shape[0] == len(groups)
    assert pd.read_parquet(tmp_path / "run" / "groups.parquet").shape[0] == len(groups)


CHILD = textwrap.dedent("""
    import sys
    from textlens.corpus.pipeline import run
    from textlens.models import load_model
    from test_corpus_run import FAST

    def announce(n):
        print(f"committed {n}", flush=True)

    run(load_model(sys.argv[1]), sys.argv[2], sys.argv[3], FAST, on_batch=announce,
        progress=False)
    print("finished", flush=True)
""")


def test_sigkill_mid_run_then_rerun_holds_every_sentence_exactly_once(model_dir, tmp_path):
    root = make_corpus(tmp_path / "ungdc", countries=("USA", "FRA", "PRK", "GBR", "DEU", "PAK"),
                       years=(2016, 2017, 2018))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                        *sys.path]),
           "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(model_dir), str(root), str(out)],
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("committed 3"):
            child.send_signal(signal.SIGKILL)  # mid-run: 3 of 9 batches in
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    con = duckdb.connect(str(out / "textlens.duckdb"), read_only=True)
    partial = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    con.close()
    assert 6 <= partial < 18
    result = run(model_dir, root, out, FAST, progress=False)
    assert result.resumed_documents == partial
    con = duckdb.connect(str(out / "textlens.duckdb"), read_only=True)
    n, distinct = con.execute("SELECT count(*), count(DISTINCT (doc_id, sentence_id)) "
                              "FROM sentences").fetchone()
    assert n == distinct == expected_sentences(root) == result.n_sentences
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 18
    resumed = con.execute("SELECT * FROM sentences ORDER BY doc_id, sentence_id").fetchdf()
    con.close()
    fresh = run(model_dir, root, tmp_path / "fresh", FAST, progress=False)
    con = duckdb.connect(str(fresh.run_dir / "textlens.duckdb"), read_only=True)
    clean = con.execute("SELECT * FROM sentences ORDER BY doc_id, sentence_id").fetchdf()
    con.close()
    pd.testing.assert_frame_equal(resumed, clean, atol=1e-5)


runner = CliRunner()


@pytest.mark.parametrize("case", ["missing", "empty", "pattern", "groups", "table_col",
                                  "group_by", "where", "where_sql", "qa_model", "band"])
def test_bad_input_is_one_error_exit_2_and_nothing_in_run(case, model_dir, tiny_qa, tmp_path):
    from textlens.models.loading import save_model

    root = make_corpus(tmp_path / "ungdc")
    (tmp_path / "empty").mkdir()
    table = tmp_path / "t.csv"
    pd.DataFrame({"speech": ["Hello."]}).to_csv(table, index=False)
    qa_dir = save_model(tiny_qa, tmp_path / "qa")
    args = {"missing": ["--data", str(tmp_path / "nope")],
            "empty": ["--data", str(tmp_path / "empty")],
            "pattern": ["--data", str(root), "--path-pattern", r"(?P<country>[a-z]{9})"],
            "groups": ["--data", str(root), "--path-pattern", r"[A-Z]{3}_"],
            "table_col": ["--data", str(table)],
            "group_by": ["--data", str(root), "--group-by", "continent"],
            "where": ["--data", str(root), "--where", "year > 2030"],
            "where_sql": ["--data", str(root), "--where", "1=1; DROP TABLE x"],
            "qa_model": ["--data", str(root), "--model", str(qa_dir)],
            "band": ["--data", str(root), "--neutral-band", "0.6"]}[case]
    if "--model" not in args:
        args = [*args, "--model", str(model_dir)]
    out = tmp_path / "run"
    result = runner.invoke(app, ["corpus", *args, "--out", str(out)])
    assert result.exit_code != 0 and isinstance(result.exception, Exception)
    from textlens.errors import TextlensError

    assert isinstance(result.exception, TextlensError), result.exception
    assert result.exception.fix  # names the fix as well as the problem
    assert not out.exists()


def test_a_rerun_with_other_settings_is_refused_and_overwrite_starts_afresh(tiny_classifier,
                                                                             tmp_path):
    from dataclasses import replace

    from textlens.errors import DataError

    root = make_corpus(tmp_path / "ungdc")
    quick = replace(FAST, sampling=SamplingOptions(size=0), domain_check=False, report=False)
    first = run(tiny_classifier, root, tmp_path / "run", quick, progress=False)
    again = run(tiny_classifier, root, tmp_path / "run", quick, progress=False)
    assert again.resumed_documents == first.n_documents and again.n_sentences == first.n_sentences
    other = replace(quick, where="country = 'USA'")
    with pytest.raises(DataError, match="other settings"):
        run(tiny_classifier, root, tmp_path / "run", other, progress=False)
    fresh = run(tiny_classifier, root, tmp_path / "run", replace(other, overwrite=True),
                progress=False)
    assert fresh.n_documents == 2 and fresh.resumed_documents == 0
