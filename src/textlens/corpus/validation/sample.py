"""The validation sample: a seeded stratified random sample of a run's sentences.

Strata are the groups (the run's group-by columns) crossed with a band of the model's confidence
(low < 0.6 <= mid < 0.9 <= high), so that every group is represented and the uncertain
sentences, where the errors are, are not left to chance. When there are more strata than half
the sample (e.g. ~1,000 country-years for 300 labels), the groups are coarsened to a prefix of
the group-by columns (country, then none) so every stratum gets at least two sentences.
Within a stratum the sentences are a simple random sample without replacement, so each has
inclusion probability n_h / N_h and design weight N_h / n_h (Horvitz-Thompson). The sample
size of a stratum follows Neyman allocation for an error rate: proportional to
N_h * sqrt(c_h (1 - c_h)), c_h the stratum's mean confidence, with at least two a stratum.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from textlens.errors import DataError, InputError

BANDS = (0.6, 0.9)  # confidence cut-offs of the low / mid / high bands
BAND_NAMES = ("low", "mid", "high")
MIN_PER_STRATUM = 2


RESERVED_LABELS = ("unsure", "skip")  # decisions that are not a class

@dataclass(frozen=True)
class ValidationSample:
    """The drawn sample (`frame`: the `validation` table) and its design (`strata`: stratum,
    population N, sample n, inclusion_probability)."""

    run_dir: Path
    n: int
    seed: int
    by: tuple[str, ...]
    classes: tuple[str, ...]
    frame: pd.DataFrame
    strata: pd.DataFrame


def assign_strata(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """The stratum of each row (`by` columns and `confidence`): "country=USA|conf=low"."""
    band = np.asarray(BAND_NAMES, dtype=object)[np.searchsorted(BANDS, frame["confidence"],
                                                                side="right")]
    parts = [frame[c].astype(str).radd(f"{c}=") for c in by]
    label = pd.Series(band, index=frame.index).radd("conf=")
    for part in reversed(parts):
        label = part + "|" + label
    return label


def choose_by(frame: pd.DataFrame, by: Sequence[str], n: int) -> tuple[str, ...]:
    """The longest prefix of `by` whose strata leave at least MIN_PER_STRATUM draws each."""
    for k in range(len(by), -1, -1):
        prefix = tuple(by[:k])
        if assign_strata(frame, prefix).nunique() * MIN_PER_STRATUM <= n:
            return prefix
    return ()


def allocate(sizes: np.ndarray, spread: np.ndarray, n: int) -> np.ndarray:
    """Neyman allocation of n draws over strata of `sizes` with `spread` (a std. deviation):
    at least min(MIN_PER_STRATUM, N_h) each, never more than N_h, summing to n."""
    sizes = sizes.astype(int)
    take = np.minimum(sizes, MIN_PER_STRATUM)
    if take.sum() > n:  # only when even two a stratum do not fit: one each, largest first
        take = np.zeros_like(sizes)
        take[np.argsort(-sizes, kind="stable")[:n]] = 1
        return take
    score = sizes * np.maximum(spread, 1e-3)
    while take.sum() < n:
        room = sizes - take
        open_ = room > 0
        left = n - take.sum()
        raw = np.where(open_, score, 0.0)
        raw = raw / raw.sum() * left
        add = np.minimum(np.floor(raw).astype(int), room)
        if add.sum() == 0:  # the remainder: largest fractional parts among strata with room
            order = np.argsort(-(raw - np.floor(raw)), kind="stable")
            add[[i for i in order if open_[i]][:left]] = 1
        take = take + add
    return take


def draw_validation_sample(run_dir: str | Path, n: int, seed: int = 0,
                           by: Sequence[str] | None = None,
                           classes: Sequence[str] | None = None,
                           replace: bool = False) -> ValidationSample:
    """Draw and store (table `validation`) a stratified sample of `n` sentences of RUN.
    `classes`: the label set the researcher will use (default: the model's classes; add e.g.
    neutral for a binary sentiment model). A redraw over existing labels needs `replace`."""
    from textlens.store.corpus_db import connect, read_table, replace_tables, run_info_values

    if n < 1:
        raise InputError(f"A validation sample of {n} sentences is empty.",
                         "pass --n with a positive number, e.g. --n 300.")
    with connect(run_dir) as con:
        info = run_info_values(con)
        if info.get("head") == "multi_label":
            raise InputError("A multi-label run has one yes/no per label for each sentence, "
                             "not one class: its validation is not supported.",
                             "validate a run of a single-label classifier.")
        group_by = list(info.get("group_by") or [])
        by = group_by if by is None else list(by)
        model_classes = model_class_names(info)
        chosen = check_classes(classes, model_classes)
        documents = read_table(con, "SELECT * FROM documents")
        unknown = [c for c in by if c not in documents.columns]
        if unknown:
            raise InputError(f"Column(s) {unknown} are not metadata of this run.",
                             f"stratify by columns among {list(documents.columns)}.")
        sentences = read_table(con, "SELECT doc_id, sentence_id, label, confidence "
                                    "FROM sentences ORDER BY doc_id, sentence_id")
        if n > len(sentences):
            raise InputError(f"A validation sample of {n} sentences is larger than the corpus "
                             f"run ({len(sentences)} sentences).",
                             f"pass --n {len(sentences)} or fewer.")
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "validation_labels" in tables and not replace and con.execute(
                "SELECT count(*) FROM validation_labels").fetchone()[0]:
            raise InputError("This run already has a labelled validation sample; a new draw "
                             "would turn its labels into a convenience sample.",
                             "keep labelling the current sample, or pass --replace to draw "
                             "anew (the labels are kept, as out-of-sample labels).")
        frame = sentences.merge(documents[["doc_id", *[c for c in group_by if c not in by], *by]],
                                on="doc_id", how="left")
        used = choose_by(frame, by, n)
        frame = frame.assign(stratum=assign_strata(frame, used))
        sample, design = _draw(frame, n, seed)
        sample = sample.assign(**_context(con, sample))
        sample = sample.rename(columns={"label": "predicted"})
        sample.insert(0, "validation_id",
                      sample["doc_id"] + ":" + sample["sentence_id"].astype(str))
        sample = sample.assign(seed=seed)
        columns = ["validation_id", "doc_id", "sentence_id", "draw", *group_by, "stratum",
                   "inclusion_probability", "weight", "text", "context_before",
                   "context_after", "predicted", "confidence", "seed"]
        sample = sample[columns].sort_values("draw").reset_index(drop=True)
        replace_tables(con, {"validation": sample},
                       {"validation_classes": list(chosen),
                        "validation_design": {"by": list(used), "bands": list(BANDS),
                                              "seed": seed, "n": n,
                                              "strata": json.loads(design.to_json(
                                                  orient="records"))}})
        con.execute("CHECKPOINT")
    return ValidationSample(Path(run_dir), n, seed, tuple(used), tuple(chosen), sample, design)


def _draw(frame: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    grouped = frame.groupby("stratum", sort=True)
    names = list(grouped.groups)
    sizes = grouped.size().loc[names].to_numpy()
    conf = grouped["confidence"].mean().loc[names].to_numpy()
    take = allocate(sizes, np.sqrt(conf * (1 - conf)), n)
    parts = []
    for name, k in zip(names, take, strict=True):
        if k:
            pool = grouped.get_group(name)
            picked = pool.iloc[np.sort(rng.choice(len(pool), size=int(k), replace=False))]
            parts.append(picked.assign(inclusion_probability=k / len(pool),
                                       weight=len(pool) / k))
    sample = pd.concat(parts, ignore_index=True)
    sample = sample.assign(draw=rng.permutation(len(sample)) + 1)
    design = pd.DataFrame({"stratum": names, "N": sizes, "n": take,
                           "inclusion_probability": take / sizes})
    return sample, design


def _context(con, sample: pd.DataFrame) -> dict[str, list[str]]:
    """The sentence before and after each sampled one in its document ('' at the edges)."""
    keys = sample[["doc_id", "sentence_id"]].reset_index(drop=True).reset_index()
    con.register("wanted_view", keys)
    try:
        found = con.execute(
            "SELECT w.index, s.text, b.text AS before, a.text AS after FROM wanted_view w "
            "JOIN sentences s USING (doc_id, sentence_id) "
            "LEFT JOIN sentences b ON b.doc_id = w.doc_id AND b.sentence_id = w.sentence_id - 1 "
            "LEFT JOIN sentences a ON a.doc_id = w.doc_id AND a.sentence_id = w.sentence_id + 1 "
            "ORDER BY w.index").fetchdf()
    finally:
        con.unregister("wanted_view")
    return {"text": list(found["text"]), "context_before": list(found["before"].fillna("")),
            "context_after": list(found["after"].fillna(""))}


def model_class_names(info: dict) -> tuple[str, ...]:
    """The classes the run's sentences were labelled with (`run_info.labels`)."""
    labels = info.get("classes") or info.get("labels")
    if not labels:
        raise DataError("The run has no label names (an unfinished corpus run?).",
                        "rerun `textlens corpus` on the same --out to finish it.")
    return tuple(str(x) for x in labels)


def check_classes(classes: Sequence[str] | None, model_classes: Sequence[str]) -> tuple[str, ...]:
    """The researcher's label set: default the model's; names unique, none reserved."""
    if classes is None:
        return tuple(model_classes)
    chosen = tuple(str(c).strip() for c in classes if str(c).strip())
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise InputError(f"Validation classes {list(classes)} are not two or more distinct "
                         "names.", "pass e.g. --classes negative,neutral,positive.")
    reserved = [c for c in chosen if c.lower() in RESERVED_LABELS]
    if reserved:
        raise InputError(f"{reserved} are reserved for undecided sentences, not classes.",
                         "name the classes otherwise; 'unsure' and 'skip' are always offered.")
    return chosen
