"""`analyze`: the whole latent analysis of one model on one dataset, written to a run directory.

Named steps, each returning a typed value: predictions -> embeddings -> point cloud (map +
clusters, a `PointCloud` of the options' reducer and finder, as in Phoenix) -> cluster summaries
-> neighbours -> slices -> label issues -> shift -> explanations of the top issues. Costly steps
go through the run cache; the database and the report are written atomically at the end. The
report is given values only: it runs no model.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from textlens.data.types import Dataset
from textlens.errors import InputError, TextlensError
from textlens.latent import label_issues as li
from textlens.latent import tables
from textlens.latent.neighbours import NeighbourIndex
from textlens.latent.options import AnalysisOptions
from textlens.latent.pointcloud import Cloud, PointCloud
from textlens.latent.projection import settings
from textlens.latent.results import (
    AnalysisResult,
    CacheUse,
    CleanlabAgreement,
    ClusteringInfo,
    Embeddings,
    IssueExplanations,
    IssueSummary,
    Predictions,
    ProjectionInfo,
    Purity,
    RunInfo,
    ShiftInfo,
    Timings,
)
from textlens.latent.shift import mean_purity, mixing_across_groups, purity_by_group, split_shift
from textlens.latent.slices import Slice, high_loss_slices, near_misses
from textlens.latent.steps import ChunkKeys, embed_step, predict_step
from textlens.latent.summaries import class_tfidf_terms, mix
from textlens.models.loading import LoadedModel, ensure_loaded
from textlens.store.files import atomic_path
from textlens.store.run_db import RunCache, digest, fingerprint_model, write_run_db

if TYPE_CHECKING:
    from textlens.latent.stored import StoredInput

SLICE_COLUMNS = ("cluster", "split", "title", "label", "question_type", "answer_type")
ISSUE_COLUMNS = ["id", "score", "rank", "reason", "flagged", "kind"]


def analyze(model: str | Path | LoadedModel, dataset: Dataset, out: str | Path,
            options: AnalysisOptions | None = None, device: str = "auto") -> AnalysisResult:
    """Run every step; write RUN/textlens.duckdb, RUN/embeddings.npy and RUN/report.html.

    `model` is a model directory, a hub id (with a network) or a `LoadedModel`; `options`
    default to UMAP + Affinity Propagation (`AnalysisOptions()`)."""
    options = options if options is not None else AnalysisOptions()
    run = check_out_dir(out)
    loaded = ensure_loaded(model, task=dataset.task, device=device)
    options.check_for(loaded, dataset)
    qa, cache = dataset.task == "qa", RunCache(run)
    names = label_names(dataset, loaded)
    keys = ChunkKeys.of(fingerprint_model(loaded.source, loaded.model),
                        tables.base_frame(dataset, names), qa)
    predictions = predict_step(loaded, dataset, keys, cache, names, options.chunk_size)
    embeddings = embed_step(loaded, dataset, predictions, keys, cache, options)
    source = Source(dataset.task, dataset.name, dataset.split, loaded.source,
                    keys.model_fingerprint, names)
    return analyse_population(run, source, predictions, embeddings, options, cache, loaded)


def analyze_stored(stored: StoredInput, out: str | Path,
                   options: AnalysisOptions | None = None) -> AnalysisResult:
    """`analyze` from stored embeddings (`stored.read_stored`): the same run store, map,
    clusters, neighbours, slices and (with labels) label issues, without a model. Label issues
    use the table's probabilities where it has them, else a cross-validated head on the
    vectors; the top issues are not explained (loss attribution needs the model)."""
    options = options if options is not None else AnalysisOptions()
    run = check_out_dir(out)
    source = Source("classification", stored.table.stem, "all",
                    f"none (stored embeddings: {stored.vectors_file})", stored.embeddings.key,
                    stored.label_names, stored.has_labels, stored.has_probabilities)
    return analyse_population(run, source, stored.predictions, stored.embeddings, options,
                              RunCache(run), None)


@dataclass(frozen=True)
class Source:
    """What the samples and vectors came from, for `run_info` and the later steps."""

    task: str
    dataset: str
    split: str
    model: str
    model_fingerprint: str
    label_names: tuple[str, ...] | None
    labels: bool = True
    probabilities: bool = True


def analyse_population(run: Path, source: Source, predictions: Predictions,
                       embeddings: Embeddings, options: AnalysisOptions, cache: RunCache,
                       loaded: LoadedModel | None) -> AnalysisResult:
    """Every step after the two model steps: map, clusters, neighbours, slices, label issues,
    shift, explanations (with a model), then the run store and the report."""
    qa, names = source.task == "qa", source.label_names
    cloud = PointCloud(options.reducer, options.finder).generate(
        embeddings.vectors, lambda compute: cache.array(
            "map", digest(embeddings.key, repr(options.reducer)), compute))
    frame = predictions.frame.assign(x=cloud.xy[:, 0], y=cloud.xy[:, 1],
                                     cluster=cloud.clustering.labels)
    clusters = summarise_clusters(frame, qa)
    start = time.perf_counter()
    index = NeighbourIndex.build(embeddings.vectors, seed=options.seed)
    knn = index.knn_all(options.neighbours_k)
    neighbour_s = time.perf_counter() - start
    slices = slice_table(frame, options.slice_min_size)
    issues, issue_summary = label_issues_step(frame, embeddings.vectors, qa, names, options,
                                              source)
    shift, purity, purity_table = shift_step(frame, embeddings.vectors, knn, qa, options.seed)
    frame = frame.assign(neighbours=neighbour_ids(frame["id"].to_numpy(), knn))
    start = time.perf_counter()
    if loaded is None:
        explanations = IssueExplanations({}, "Not explained: no model was given (stored "
                                          "embeddings); `textlens explain --model ...` explains "
                                          "any of these samples.")
    else:
        explanations = explain_issues(loaded, frame, issues, options.report_issues
                                      if options.report else 0)
    info = RunInfo(
        task=source.task, dataset=source.dataset, split=source.split, n=len(frame),
        model=source.model, model_fingerprint=source.model_fingerprint,
        label_names=tuple(names or ()),
        projection=ProjectionInfo(cloud.projection, settings(options.reducer)),
        clustering=clustering_info(cloud, options), neighbour_index="exact" if index.exact
        else "hnswlib", neighbours_k=int(knn.shape[1]), issues=issue_summary, shift=shift,
        purity=purity, near_misses=tuple(near_miss_ids(frame) if qa else ()),
        cache=CacheUse(tuple(cache.hits), tuple(cache.misses)),
        timings=Timings(predictions.seconds, embeddings.seconds, cloud.project_s,
                        cloud.cluster_s, time.perf_counter() - start, neighbour_s),
        seed=options.seed)
    out_tables = {"samples": frame, "clusters": clusters, "label_issues": issues,
                  "slices": slices, f"{purity.group}_purity": purity_table}
    with atomic_path(run / "embeddings.npy") as tmp, tmp.open("wb") as handle:
        np.save(handle, embeddings.vectors)
    if not index.exact:
        with atomic_path(run / "neighbours.hnsw") as tmp:
            index.save(tmp)
    write_run_db(run, out_tables, info.to_record())
    result = AnalysisResult(run, frame, clusters, issues, slices, purity_table, info,
                            embeddings.vectors, explanations, None)
    if not options.report:
        return result
    from textlens.report.latent_html import write_report

    return replace(result, report=write_report(run, result, options.report_issues))


def neighbour_ids(ids: np.ndarray, knn: np.ndarray) -> list[str]:
    """Each sample's neighbours as a JSON list of ids (the dashboard reads them)."""
    return [json.dumps(row.tolist(), ensure_ascii=False) for row in ids[knn]]


def check_out_dir(out: str | Path) -> Path:
    """The run directory, refused before any work when it is a file or under one."""
    run = Path(out)
    for path in (run, *run.parents):
        if path.exists() and not path.is_dir():
            raise InputError(f"The run directory '{run}' cannot be made: '{path}' is a file.",
                             "pass --out naming a new or existing folder.")
        if path.exists():
            break
    return run


def label_names(dataset: Dataset, loaded: LoadedModel) -> tuple[str, ...] | None:
    """The data's label names; else the model's when they are real names and fit the labels."""
    if dataset.task == "qa":
        return None
    if dataset.label_names:
        return tuple(dataset.label_names)
    from textlens.models.heads import class_names, head_kind

    generic = all(n == f"LABEL_{i}" for i, n in enumerate(loaded.label_names))
    # One per probability column (`predict_classification`): a one-logit model has two.
    model = class_names(head_kind(loaded.model.config), loaded.label_names)
    return None if not model or generic else model


def clustering_info(cloud: Cloud, options: AnalysisOptions) -> ClusteringInfo:
    c = cloud.clustering
    return ClusteringInfo(c.method, settings(options.finder), c.fitted_on, c.clusters, c.noise)


def summarise_clusters(frame: pd.DataFrame, qa: bool) -> pd.DataFrame:
    """One row per cluster: size, mean loss, accuracy (QA: EM and F1), terms and mixes."""
    labels = frame["cluster"].to_numpy()
    docs = (frame["question"] + " " + frame["label"].fillna("")) if qa else frame["text"]
    terms = class_tfidf_terms(list(docs), list(labels))
    answers = class_tfidf_terms(list(frame["label"].fillna("")), list(labels), 5) if qa else {}
    rows = []
    for cid, part in frame.groupby("cluster"):
        row = {"id": int(cid), "size": len(part), "mean_loss": _mean(part, "loss"),
               "accuracy": _mean(part, "correct"), "top_terms": ", ".join(terms[cid])}
        if qa:
            row["f1"] = float(part["f1"].mean())
            row["answer_terms"] = ", ".join(answers.get(cid, []))
            row["question_types"] = mix(list(part["question_type"]))
            row["answer_types"] = mix(list(part["answer_type"]))
            row["titles"] = mix(list(part["title"]), top=3)
        elif "label" in part:
            row["labels"] = mix([str(v) for v in part["label"]])
        rows.append(row)
    return pd.DataFrame(rows).sort_values("mean_loss", ascending=False, ignore_index=True)


def _mean(part: pd.DataFrame, column: str) -> float:
    """A column's mean; NaN where the samples have none (stored embeddings without it)."""
    return float(part[column].mean()) if column in part else float("nan")


def slice_table(frame: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """Slices ranked by mean loss (an empty table keeps its columns: few samples, no slices)."""
    # `label` is a class with `label_index` beside it; QA's is the answer text, no slice
    columns = [c for c in SLICE_COLUMNS if c in frame and (c != "label" or "label_index" in frame)]
    return pd.DataFrame([asdict(s) for s in high_loss_slices(frame, columns, min_size)],
                        columns=[f.name for f in fields(Slice)])


def label_issues_step(frame: pd.DataFrame, vectors: np.ndarray, qa: bool,
                      names: tuple[str, ...] | None, options: AnalysisOptions,
                      origin: Source | None = None) -> tuple[pd.DataFrame, IssueSummary]:
    """Likely label errors (the `label_issues` module's detectors) and a summary for the page.

    Stored embeddings without labels have none to dispute (an empty table, "none"); with labels
    but no probabilities every row gets the cross-validated head's."""
    ids = list(frame["id"])
    if origin is not None and not origin.labels:
        return pd.DataFrame(columns=ISSUE_COLUMNS), IssueSummary("none", 0, 0, None)
    if origin is not None and not origin.probabilities:
        options = replace(options, issue_probabilities="crossval")
    if qa:
        issues = pd.DataFrame([asdict(i) for i in li.qa_label_issues(li.qa_samples(frame))],
                              columns=ISSUE_COLUMNS)
        return issues, IssueSummary("model", 0, int(issues["flagged"].sum()), None)
    probs, source = tables.probabilities(frame), options.issue_probabilities
    train = (frame["split"] == "train").to_numpy()
    crossval = source == "crossval" or (source == "auto" and bool(train.any()))
    if crossval:
        cv = li.crossval_probabilities(vectors, frame["label_index"], seed=options.seed)
        probs = cv if source == "crossval" else np.where(train[:, None], cv, probs)
    labels = frame["label_index"].to_numpy()
    names = names or tuple(str(i) for i in range(probs.shape[1]))
    issue_list = li.classification_issues(ids, labels, probs, names, embeddings=vectors,
                                          texts=list(frame["text"]), seed=options.seed)
    issues = pd.DataFrame([asdict(i) for i in issue_list])
    agreement = None
    ranked = li.cleanlab_ranking(labels, probs)
    if ranked is not None:
        rank = {ids[p]: r for r, p in enumerate(ranked, start=1)}
        issues["cleanlab_rank"] = [rank.get(i) for i in issues["id"]]
        agreement = CleanlabAgreement.from_mapping(li.agreement(issue_list, ranked, ids))
    rows = len(frame) if source == "crossval" else int(train.sum()) if crossval else 0
    return issues, IssueSummary(source, rows, int(issues["flagged"].sum()), agreement)


def shift_step(frame: pd.DataFrame, vectors: np.ndarray, knn: np.ndarray, qa: bool,
               seed: int) -> tuple[ShiftInfo | None, Purity, pd.DataFrame]:
    """Split separation (with several splits) and the neighbours' title/label purity."""
    group = "title" if qa else next(c for c in ("label", "prediction", "cluster")
                                    if c in frame)
    groups = frame[group].astype(str)
    purity = Purity(group, **mean_purity(knn, groups))
    table = pd.DataFrame(purity_by_group(knn, groups, frame["split"]))
    if frame["split"].nunique() < 2:
        return None, purity, table
    shift = split_shift(vectors, knn, frame["split"], seed)
    across = mixing_across_groups(knn, frame["split"], frame["title"]) if qa else None
    return ShiftInfo(shift.mixing, shift.classifier_balanced_accuracy, shift.n, across), \
        purity, table


def near_miss_ids(frame: pd.DataFrame) -> list[str]:
    golds = [json.loads(a) for a in frame["answers"]]
    return near_misses(list(frame["id"]), list(frame["prediction"]), golds)


def explain_issues(loaded: LoadedModel, frame: pd.DataFrame, issues: pd.DataFrame,
                   n: int) -> IssueExplanations:
    """Loss attributions of the `n` top-ranked label issues (what drove the loss up)."""
    if n == 0 or issues.empty:
        return IssueExplanations({})
    from textlens.attribution import explain

    top = issues.sort_values("rank").head(n)[["id"]].merge(frame, on="id")
    try:
        if "question" in top:
            answers = [(s[0], s[0] + len(a[0])) for s, a in
                       zip(map(json.loads, top["answer_starts"]), map(json.loads, top["answers"]),
                           strict=True)]
            found = explain(list(zip(top["question"], top["context"], strict=True)),
                            model=loaded, method="loss", answers=answers, truncate=True,
                            progress=False)
        else:
            found = explain(list(top["text"]), model=loaded, method="loss",
                            labels=[int(x) for x in top["label_index"]], truncate=True,
                            progress=False)
    except TextlensError as exc:  # an input the attribution cannot take: say so on the page
        return IssueExplanations({}, f"loss attribution unavailable: {exc.problem}")
    return IssueExplanations(dict(zip(top["id"], found, strict=True)))  # type: ignore[arg-type]
