"""`analyze`: the whole latent analysis of one model on one dataset, written to a run directory.

Composition in the manner of Phoenix's pointcloud: embeddings -> DimensionalityReducer ->
ClustersFinder -> summaries, plus neighbours, slices, label issues and shift. Costly steps go
through the run cache (keyed by model files, data and options), so reruns and resumed runs
recompute nothing they already have; the database and report are written atomically at the end.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from textlens.data.types import Dataset
from textlens.latent import label_issues as li
from textlens.latent import tables
from textlens.latent.clustering import cluster, make_finder
from textlens.latent.embeddings import EmbeddingOptions, embed_qa, embed_texts
from textlens.latent.neighbours import NeighbourIndex
from textlens.latent.projection import make_reducer
from textlens.latent.shift import mean_purity, mixing_across_groups, purity_by_group, split_shift
from textlens.latent.slices import high_loss_slices, near_misses
from textlens.latent.summaries import class_tfidf_terms, mix
from textlens.models.loading import LoadedModel
from textlens.store.files import atomic_path
from textlens.store.run_db import (
    RunCache,
    digest,
    fingerprint_data,
    fingerprint_model,
    write_run_db,
)

SLICE_COLUMNS = ("cluster", "split", "title", "label_name", "question_type", "answer_type")


@dataclass(frozen=True)
class AnalysisOptions:
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    projection: str = "umap"
    clustering: str = "affinity"
    neighbours_k: int = 10
    issue_probabilities: Literal["auto", "model", "crossval"] = "auto"
    slice_min_size: int = 10
    chunk_size: int = 512
    seed: int = 0
    report: bool = True
    report_issues: int = 10  # label issues shown with an attribution heatmap


@dataclass(frozen=True)
class AnalysisResult:
    run_dir: Path
    samples: pd.DataFrame
    clusters: pd.DataFrame
    label_issues: pd.DataFrame
    slices: pd.DataFrame
    info: dict
    embeddings: np.ndarray
    report: Path | None


def analyze(loaded: LoadedModel, dataset: Dataset, out: str | Path,
            options: AnalysisOptions = AnalysisOptions()) -> AnalysisResult:
    """Run every step, write RUN/textlens.duckdb, RUN/embeddings.npy and RUN/report.html."""
    run, cache, timings = Path(out), RunCache(out), {}
    frame = tables.base_frame(dataset)
    qa = dataset.task == "qa"
    text_cols = ["question", "context"] if qa else ["text"]
    gold_cols = ["answers", "answer_starts"] if qa else ["label"]
    model_fp = fingerprint_model(loaded.source, loaded.model)
    n, size = len(frame), options.chunk_size

    def key(part: slice, *extra: object) -> str:
        """Cache key of a chunk: model, ids and texts, gold labels for predictions (the loss)."""
        cols = ["id", *text_cols, *(gold_cols if "pred" in extra else [])]
        rows = zip(*(frame[c].iloc[part].astype(str) for c in cols), strict=True)
        return digest(model_fp, fingerprint_data(rows), *extra)

    t = time.perf_counter()
    preds = pd.concat(tables.chunked(n, size, lambda part, i: cache.frame(
        "predictions", key(part, "pred"), lambda: tables.predict_chunk(loaded, dataset, part)),
        "Predicting"),
        ignore_index=True)
    frame = tables.add_predictions(frame, preds, dataset.label_names)
    timings["predict_s"] = time.perf_counter() - t

    t, emb = time.perf_counter(), asdict(options.embedding)

    def embed(part: slice) -> np.ndarray:
        if qa:
            spans = list(zip(frame["pred_start"].iloc[part], frame["pred_end"].iloc[part],
                             strict=True))
            return embed_qa(loaded, list(dataset.examples[part]), spans, options.embedding,
                            progress=False)
        return embed_texts(loaded, list(frame["text"].iloc[part]), options.embedding,
                           progress=False)

    vectors = np.concatenate(tables.chunked(n, size, lambda part, i: cache.array(
        "embeddings", key(part, "emb", emb), lambda: embed(part)), "Embedding"))
    timings["embed_s"] = time.perf_counter() - t
    all_key = digest(model_fp, [key(p, "emb", emb) for p in tables.chunks(n, size)])

    t = time.perf_counter()
    xy = cache.array("map", digest(all_key, options.projection, options.seed),
                     lambda: make_reducer(options.projection, options.seed).project(vectors))
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    timings["project_s"] = time.perf_counter() - t
    t = time.perf_counter()
    clustering = cluster(make_finder(options.clustering, options.seed), vectors)
    frame["cluster"] = clustering.labels
    timings["cluster_s"] = time.perf_counter() - t

    index = NeighbourIndex.build(vectors, seed=options.seed)
    knn = index.knn_all(options.neighbours_k)
    issues, info_issues = _label_issues(frame, vectors, dataset, options)
    clusters = _clusters(frame, qa)
    slices = pd.DataFrame([asdict(s) for s in high_loss_slices(
        frame, [c for c in SLICE_COLUMNS if c in frame], options.slice_min_size)])
    info = {"task": dataset.task, "dataset": dataset.name, "split": dataset.split, "n": n,
            "model": loaded.source, "model_fingerprint": model_fp, "options": asdict(options),
            "clustering": {"method": clustering.method, "fitted_on": clustering.fitted_on,
                           "clusters": int(len(np.unique(clustering.labels)))},
            "neighbour_index": "exact" if index.exact else "hnswlib",
            "cache_hits": cache.hits, "cache_misses": cache.misses,
            "timings_s": {k: round(v, 2) for k, v in timings.items()}, **info_issues}
    if frame["split"].nunique() > 1:
        info["shift"] = asdict(split_shift(vectors, knn, frame["split"], options.seed))
    group = "title" if qa else "label_name"
    purity = pd.DataFrame(purity_by_group(knn, frame[group], frame["split"]))
    info[f"{group}_purity"] = mean_purity(knn, frame[group])
    if qa and "shift" in info:
        info["shift"]["mixing_across_titles"] = mixing_across_groups(knn, frame["split"],
                                                                     frame["title"])
    if qa:
        golds = [json.loads(a) for a in frame["answers"]]
        info["near_misses"] = near_misses(list(frame["id"]), list(frame["prediction"]), golds)
    frame["neighbours"] = [json.dumps(frame["id"].to_numpy()[row].tolist()) for row in knn]
    with atomic_path(run / "embeddings.npy") as tmp, tmp.open("wb") as handle:
        np.save(handle, vectors)
    if not index.exact:
        with atomic_path(run / "neighbours.hnsw") as tmp:
            index.save(tmp)
    out_tables = {"samples": frame, "clusters": clusters, "label_issues": issues,
                  "slices": slices, f"{group}_purity": purity}
    write_run_db(run, out_tables, info)
    report = None
    if options.report:
        from textlens.report.latent_html import write_report

        report = write_report(run, frame, out_tables, info, loaded, options.report_issues)
    return AnalysisResult(run, frame, clusters, issues, slices, info, vectors, report)


def _clusters(frame: pd.DataFrame, qa: bool) -> pd.DataFrame:
    """One row per cluster: size, mean loss, accuracy (QA: EM and F1), terms and mixes."""
    labels = frame["cluster"].to_numpy()
    docs = (frame["question"] + " " + frame["label"].fillna("")) if qa else frame["text"]
    terms = class_tfidf_terms(list(docs), list(labels))
    answers = class_tfidf_terms(list(frame["label"].fillna("")), list(labels), 5) if qa else {}
    rows = []
    for cid, part in frame.groupby("cluster"):
        row = {"id": int(cid), "size": len(part), "mean_loss": float(part["loss"].mean()),
               "accuracy": float(part["correct"].mean()), "top_terms": ", ".join(terms[cid])}
        if qa:
            row["f1"] = float(part["f1"].mean())
            row["answer_terms"] = ", ".join(answers.get(cid, []))
            row["question_types"] = mix(list(part["question_type"]))
            row["answer_types"] = mix(list(part["answer_type"]))
            row["titles"] = mix(list(part["title"]), top=3)
        else:
            row["labels"] = mix(list(part["label_name"]))
        rows.append(row)
    return pd.DataFrame(rows).sort_values("mean_loss", ascending=False, ignore_index=True)


def _label_issues(frame: pd.DataFrame, vectors: np.ndarray, dataset: Dataset,
                  options: AnalysisOptions) -> tuple[pd.DataFrame, dict]:
    ids = list(frame["id"])
    if dataset.task == "qa":
        issues = li.qa_label_issues(li.qa_samples(frame))
        return pd.DataFrame([asdict(i) for i in issues], columns=["id", "score", "rank", "reason",
                                                                  "flagged", "kind"]), {}
    probs, source = tables.probabilities(frame), options.issue_probabilities
    train = (frame["split"] == "train").to_numpy()
    if source == "crossval" or (source == "auto" and train.any()):
        cv = li.crossval_probabilities(vectors, frame["label"], seed=options.seed)
        probs = cv if source == "crossval" else np.where(train[:, None], cv, probs)
    labels, names = frame["label"].to_numpy(), dataset.label_names or ()
    names = names or tuple(str(i) for i in range(probs.shape[1]))
    issue_list = li.classification_issues(ids, labels, probs, names, embeddings=vectors,
                                          texts=list(frame["text"]), seed=options.seed)
    issues = pd.DataFrame([asdict(i) for i in issue_list])
    info: dict = {"issue_probabilities": source, "train_rows_crossval": int(train.sum())
                  if source != "model" else 0}
    ranked = li.cleanlab_ranking(labels, probs)
    if ranked is not None:
        rank = {ids[p]: r for r, p in enumerate(ranked, start=1)}
        issues["cleanlab_rank"] = [rank.get(i) for i in issues["id"]]
        info["cleanlab_agreement"] = li.agreement(issue_list, ranked, ids)
    return issues, info
