"""After every sentence is classified: aggregates, explanation sample, domain check, exports,
plots and the report. Cheap steps are recomputed on every call; the explanation sample and the
domain check are kept in the store under a key of their inputs, so a rerun reuses them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from textlens.corpus.aggregate import aggregate_groups, class_shares
from textlens.corpus.results import CorpusResult
from textlens.corpus.sampling import STRATA, draw_sample, explain_sample, strata, top_words
from textlens.store.files import atomic_path, atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from textlens.corpus.ingest import Corpus
    from textlens.corpus.options import CorpusOptions


def finish(con, run_dir: Path, corpus: Corpus, loaded, group_by: Sequence[str],
           options: CorpusOptions, labels_out: Sequence[str], sign_of: dict[str, int],
           resumed: int, progress: bool, kind: str = "softmax",
           sentiment: bool = True) -> CorpusResult:
    from textlens.store.corpus_db import read_table, replace_tables
    from textlens.store.run_db import digest

    by = list(group_by)
    selected = [d.doc_id for d in corpus.documents]
    documents = read_table(con, "SELECT * FROM documents").set_index("doc_id", drop=False)
    documents = documents.loc[selected].reset_index(drop=True)
    # Everything but the text: memory grows by ~60 bytes a sentence, not by the corpus's text.
    sentences = read_table(con, "SELECT * EXCLUDE (text) FROM sentences "
                                "ORDER BY doc_id, sentence_id")
    names = [c[2:] for c in sentences.columns if c.startswith("p_")]  # the model's classes
    multi = kind == "multi_label"
    shares = class_shares(documents, sentences, by, names if multi else labels_out, multi,
                          options.n_boot, options.seed)
    groups = aggregate_groups(documents, sentences, by, options.n_boot, options.seed) \
        if sentiment else wide_shares(shares, by)
    stored = _info(con)

    sample_key = digest(repr(options.sampling), by, options.seed, len(sentences))
    if stored.get("explanations_key") == sample_key:
        explanations = read_table(con, "SELECT * FROM explanations")
    else:
        with_groups = sentences.merge(documents[["doc_id", *by]], on="doc_id", how="left")
        stratum = strata(with_groups, names, [sign_of[n] for n in names], options.sampling)
        sample = draw_sample(with_groups, stratum, options.sampling, options.seed, by) \
            if options.sampling.size else with_groups.head(0).assign(stratum=[])
        sample = sample.assign(text=_texts(con, sample))
        explanations = explain_sample(loaded, sample, sign_of, progress, classes=names)
    words = top_words(explanations, documents, by, options.sampling.top_words)

    domain = None
    domain_key = digest(options.domain_check, options.domain_sample, options.seed,
                        len(sentences), str(loaded.source))
    if options.domain_check:
        domain = _domain(con, stored, domain_key, loaded, sentences, options, progress)

    replace_tables(con, {"groups": groups, "group_classes": shares,
                         "explanations": explanations, "group_words": words,
                         **({"domain_points": domain["points"]} if domain else {})},
                   {"explanations_key": sample_key, "group_by": by,
                    "labels": list(labels_out), "classes": list(labels_out), "head": kind,
                    "sentiment": sentiment, "model": str(loaded.source),
                    **({"domain_key": domain_key, "domain": domain["info"]} if domain else {})})
    exports = _export(run_dir, groups, options.export)
    report = _report(run_dir, corpus, loaded, by, groups, sentences, explanations, words,
                     domain, options, shares, sentiment,
                     _validation_section(con)) if options.report else None
    bad = read_table(con, "SELECT * FROM bad_files")
    info = domain["info"] if domain else {}
    return CorpusResult(run_dir, len(documents), len(sentences), resumed, groups, explanations,
                        words, bad, info.get("message"), bool(info.get("far", False)), report,
                        exports)


def wide_shares(shares: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per group (the `groups` table of a run whose classes carry no polarity): sizes,
    and the count, share and 95% interval of every class as columns."""
    by = list(by)
    base = shares.drop_duplicates(by)[[*by, "n_documents", "n_sentences"]].reset_index(drop=True)
    for name, part in shares.groupby("class", sort=False):
        cols = part[[*by, "count", "share", "ci_low", "ci_high"]].rename(columns={
            "count": f"n_{name}", "share": f"share_{name}", "ci_low": f"ci_low_{name}",
            "ci_high": f"ci_high_{name}"})
        base = base.merge(cols, on=by, how="left")
    return base


def _info(con) -> dict[str, Any]:
    rows = con.execute("SELECT key, value FROM run_info").fetchall()
    return {k: (v if k == "fingerprint" else json.loads(v)) for k, v in rows}


def _domain(con, stored: dict[str, Any], key: str, loaded, sentences: pd.DataFrame,
            options: CorpusOptions, progress: bool) -> dict[str, Any] | None:
    from textlens.corpus.domain import check_domain, training_reference
    from textlens.data import load_dataset
    from textlens.store.corpus_db import read_table

    if stored.get("domain_key") == key and "domain" in stored:
        return {"info": stored["domain"], "points": read_table(con, "SELECT * FROM domain_points")}
    reference = training_reference(str(loaded.source))
    if reference is None:
        return None
    try:
        train = load_dataset(reference[0], reference[1], data_dir=options.data_dir)
    except Exception:  # noqa: BLE001 - no reference data: say so in the report, not crash
        return {"info": {"message": f"No domain check: the training data {reference} could not "
                                    "be loaded here.", "far": False},
                "points": pd.DataFrame({"x": [], "y": [], "source": [], "confidence": []})}
    n = options.domain_sample
    rng = np.random.default_rng(options.seed)
    ref_texts = [train[int(i)].text for i in
                 np.sort(rng.choice(len(train), min(n, len(train)), replace=False))]
    corpus_rows = np.sort(rng.choice(len(sentences), min(n, len(sentences)), replace=False))
    corpus_texts = _texts(con, sentences.iloc[corpus_rows])
    check = check_domain(loaded, corpus_texts, ref_texts, "/".join(reference), seed=options.seed,
                         progress=progress)
    confidence = np.concatenate([check.reference_confidence,
                                 sentences["confidence"].iloc[corpus_rows].to_numpy()])
    points = pd.DataFrame({"x": check.points[:, 0], "y": check.points[:, 1],
                           "source": list(check.sources), "confidence": confidence})
    info = {"reference": check.reference, "mixing": check.mixing,
            "classifier_balanced_accuracy": check.classifier_balanced_accuracy,
            "far": check.far, "message": check.message}
    return {"info": info, "points": points}


def _texts(con, rows: pd.DataFrame) -> list[str]:
    """The stored texts of `rows` (doc_id, sentence_id), in their order."""
    if rows.empty:
        return []
    keys = rows[["doc_id", "sentence_id"]].reset_index(drop=True).reset_index()
    con.register("wanted_view", keys)
    try:
        found = con.execute("SELECT w.index, s.text FROM wanted_view w JOIN sentences s "
                            "USING (doc_id, sentence_id) ORDER BY w.index").fetchall()
    finally:
        con.unregister("wanted_view")
    return [text for _, text in found]


def _export(run_dir: Path, groups: pd.DataFrame, formats: Sequence[str]) -> tuple[Path, ...]:
    written = []
    if "csv" in formats:
        written.append(atomic_write_text(run_dir / "groups.csv", groups.to_csv(index=False)))
    if "parquet" in formats:
        with atomic_path(run_dir / "groups.parquet") as tmp:
            groups.to_parquet(tmp, index=False)
        written.append(run_dir / "groups.parquet")
    return tuple(written)


def _report(run_dir: Path, corpus: Corpus, loaded, by: list[str], groups: pd.DataFrame,
            sentences: pd.DataFrame, explanations: pd.DataFrame, words: pd.DataFrame,
            domain: dict[str, Any] | None, options: CorpusOptions,
            shares: pd.DataFrame | None = None, sentiment: bool = True,
            validation_html: str = "") -> Path:
    from textlens.report import corpus_plots
    from textlens.report.corpus_html import CorpusReport, DomainNote, Stratum, write_report

    if sentiment:
        title = f"Sentiment of {corpus.name}: {len(sentences)} sentences"
        facet_png = corpus_plots.facet_png(groups, by, title="net sentiment per 100 sentences "
                                                             "(95% bootstrap interval)")
        atomic_write_bytes(run_dir / "net_sentiment.png", facet_png)
        facet_html = corpus_plots.facet_html(groups, by, title="net sentiment per 100 sentences")
    else:  # a facet per group, a bar per class
        title = f"Classes of {corpus.name}: {len(sentences)} sentences"
        facet_png = corpus_plots.class_facet_png(shares, by, title="share of sentences per "
                                                 "class (95% interval)")
        atomic_write_bytes(run_dir / "class_shares.png", facet_png)
        facet_html = ""
    shown = explanations.merge(sentences[["doc_id", "sentence_id", "label", "confidence"]],
                               on=["doc_id", "sentence_id"], how="left")
    meta = corpus.metadata_frame()
    shown = shown.merge(meta[["doc_id", *by]], on="doc_id", how="left")
    points = domain["points"] if domain else None
    info = domain["info"] if domain else {}
    reference_conf = None
    domain_png = None
    if points is not None and len(points):
        ref = points["source"] == "training data"
        reference_conf = points.loc[ref, "confidence"].to_numpy()
        domain_png = corpus_plots.domain_png(points[["x", "y"]].to_numpy(), list(points["source"]))
    summary = {"model": loaded.source, "labels": ", ".join(labels_of(shares, loaded)),
               "corpus": str(corpus.root), "selection": options.where or "all documents",
               "documents": len(meta), "sentences": len(sentences),
               "files not used": len(corpus.bad_files),
               "segmenter": options.engine.segmenter,
               "neutral band": options.engine.neutral_band or "off",
               "truncated sentences": int(sentences["truncated"].sum()),
               "grouped by": ", ".join(by), "bootstrap": f"{options.n_boot} resamples, seed "
                                                         f"{options.seed}"}
    bad = pd.DataFrame({"path": [b.path for b in corpus.bad_files],
                        "reason": [b.reason for b in corpus.bad_files]})
    # A check that ran names its reference data; one that could not run has only a message.
    note = None if not info.get("message") else DomainNote(
        info["message"], "far" if info.get("far") else "close" if "reference" in info
        else "unchecked")
    return write_report(run_dir / "report.html", CorpusReport(
        title, summary, tuple(by), groups, facet_png, facet_html, shown,
        tuple(Stratum(s, open=s != "near_threshold") for s in STRATA), words, bad, note,
        domain_png,
        corpus_plots.confidence_png(sentences["confidence"].to_numpy(), reference_conf),
        class_shares=None if sentiment else shares, validation_html=validation_html))


def labels_of(shares: pd.DataFrame | None, loaded) -> list[str]:
    return list(dict.fromkeys(shares["class"])) if shares is not None and len(shares) else \
        list(loaded.label_names)


def _validation_section(con) -> str:
    """The validation results stored in RUN (measured classifier, corrected shares), if any."""
    from textlens.report.corpus_validation_html import stored_section

    return stored_section(con)
