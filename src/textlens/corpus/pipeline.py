"""`textlens.corpus.run`: a corpus in, every sentence classified, aggregates, plots, a
systematic sample of explanations, a domain warning and a report out, in a resumable run store.

Every check on the input runs before RUN is touched, so bad input leaves nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from textlens.corpus.engine import LocalEngine, SentenceEngine, polarity
from textlens.corpus.finish import finish
from textlens.corpus.ingest import Corpus, ingest
from textlens.corpus.options import CorpusOptions
from textlens.corpus.results import CorpusResult
from textlens.errors import DataError, InputError

__all__ = ["CorpusOptions", "CorpusResult", "prepare", "run"]


def default_group_by(columns: Sequence[str]) -> tuple[str, ...]:
    preferred = tuple(c for c in ("country", "year") if c in columns)
    return preferred or tuple(columns[:1])


def prepare(data: str | Path, options: CorpusOptions) -> tuple[Corpus, tuple[str, ...]]:
    """Ingest and select the documents, checking every option against what was found."""
    from textlens.corpus.select import filter_documents

    options.check()
    corpus = ingest(data, options.data_dir, options.path_pattern, options.text_col,
                    options.id_col)
    columns = list(corpus.metadata_columns)
    group_by = options.group_by or default_group_by(columns)
    if not group_by:
        raise DataError("The corpus has no metadata column to group by.",
                        "give --path-pattern named groups (folders) or metadata columns (tables).")
    unknown = [c for c in group_by if c not in columns]
    if unknown:
        raise DataError(f"--group-by column(s) {', '.join(unknown)} not in the corpus metadata.",
                        f"use columns among: {', '.join(columns) or '(none)'}.")
    if options.where:
        keep = filter_documents(corpus.metadata_frame(), options.where)
        if not keep:
            raise DataError(f"--where {options.where!r} selects none of the "
                            f"{len(corpus.documents)} documents.",
                            "loosen the condition; check values and case (e.g. 'USA', year as "
                            "a number).")
        corpus = corpus.select(keep)
    return corpus, tuple(group_by)


def check_head(loaded: Any) -> str:
    """The head's kind; a regression head has no classes to count and is refused."""
    from textlens.models.heads import head_kind

    kind = head_kind(loaded.model.config)
    if kind == "regression":
        raise InputError(f"The model {loaded.source} has a regression head: it predicts a "
                         "number, not a class, so there is nothing to count per group.",
                         "use a classification model (softmax, one-logit binary or "
                         "multi-label head).")
    return kind


def run(model: Any, data: str | Path, out: str | Path, options: CorpusOptions | None = None,
        engine: SentenceEngine | None = None, on_batch: Callable[[int], None] | None = None,
        progress: bool = True) -> CorpusResult:
    """Classify every sentence of the corpus and write RUN (resuming a killed run)."""
    from textlens.models.loading import ensure_loaded
    from textlens.store.corpus_db import carry_validation, open_store, restore_validation

    options = options or CorpusOptions()
    corpus, group_by = prepare(data, options)
    loaded = ensure_loaded(model, task="classification")
    from textlens.models.heads import class_names

    kind = check_head(loaded)
    # one-logit models: two classes ("not NAME", NAME) for one config label
    names = list(class_names(kind, loaded.label_names))  # type: ignore[arg-type]
    signs = polarity(names)
    if options.engine.neutral_band is not None and (len(names) != 2 or signs is None
                                                    or kind == "multi_label"):
        raise InputError(f"--neutral-band applies to binary sentiment models; this one has "
                         f"classes {names}.", "drop --neutral-band.")
    labels_out = names + (["neutral"] if options.engine.neutral_band else [])
    sign_of = {**dict(zip(names, signs or [0] * len(names), strict=True)), "neutral": 0}
    engine = engine or LocalEngine(loaded, options.engine)
    run_dir = Path(out)
    fingerprint = _fingerprint(loaded, corpus, options)
    kept = {}
    if options.overwrite:
        kept = carry_validation(run_dir)  # the researcher's labels outlive --overwrite
        _clear_run(run_dir)
    with open_store(run_dir, fingerprint, corpus.metadata_frame(), names) as con:
        restore_validation(con, kept)
        resumed = _classify(con, corpus, engine, options, names, sign_of, on_batch, progress)
        return finish(con, run_dir, corpus, loaded, group_by, options, labels_out, sign_of,
                      resumed, progress, kind=kind, sentiment=signs is not None)


def _fingerprint(loaded, corpus: Corpus, options: CorpusOptions) -> dict[str, Any]:
    from textlens.store.run_db import digest, fingerprint_model

    return {"model": fingerprint_model(str(loaded.source), loaded.model),
            "corpus": digest([(d.doc_id, d.path, d.n_chars) for d in corpus.documents]),
            "engine": repr(replace(options.engine)), "where": options.where}


def _clear_run(run_dir: Path) -> None:
    """--overwrite: remove only what a corpus run writes."""
    from textlens.store.corpus_db import DB_NAME

    for name in (DB_NAME, f"{DB_NAME}.wal", "report.html", "groups.csv", "groups.parquet",
                 "net_sentiment.png"):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "exports", ignore_errors=True)


def _classify(con, corpus: Corpus, engine: SentenceEngine, options: CorpusOptions,
              label_names, sign_of, on_batch, progress: bool) -> int:
    from textlens.progress import track
    from textlens.store.corpus_db import append_batch, completed_documents, replace_tables

    replace_tables(con, {"bad_files": pd.DataFrame(
        {"path": [b.path for b in corpus.bad_files],
         "reason": [b.reason for b in corpus.bad_files]}, dtype=object)})
    done = completed_documents(con)
    todo = [d for d in corpus.documents if d.doc_id not in done]
    size = options.documents_per_batch
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    meta = corpus.metadata_frame().set_index("doc_id", drop=False)
    stream = getattr(engine, "predict_batches", None)  # Ray: one job, batches as they complete
    if stream is not None:
        results = stream(corpus, batches)
    else:
        iterator = track(batches, "Classifying sentences") if progress else batches
        results = ((b, engine.predict([corpus.read(info) for info in b])) for b in iterator)
    for committed, (batch, rows) in enumerate(results, start=1):
        append_batch(con, meta.loc[[d.doc_id for d in batch]].reset_index(drop=True), rows,
                     label_names, sign_of)
        if on_batch is not None:
            on_batch(committed)
    return len(done)
