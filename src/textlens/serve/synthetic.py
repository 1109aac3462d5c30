"""Synthetic runs written the way `textlens analyze` writes them (`store.run_db.write_run_db`),
for the dashboard's tests and benchmark: no model needed, any size, seeded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

TOPICS = (("film", "plot", "actor", "scene"), ("music", "score", "song", "sound"),
          ("story", "character", "drama", "ending"), ("comedy", "joke", "laugh", "humour"),
          ("visual", "camera", "colour", "image"), ("pace", "slow", "length", "minute"))
POSITIVE = ("great", "wonderful", "gripping", "funny", "moving", "brilliant")
NEGATIVE = ("dull", "boring", "awful", "clumsy", "tedious", "bad")


def synthetic_run(out: str | Path, n: int = 500, seed: int = 0, model: str | None = None,
                  texts: Sequence[str] = (), with_kind: bool = True) -> Path:
    """A classification run of `n` samples in 6 topic blobs; `texts` replace the first texts
    (for escaping tests). Labels are 90% consistent with the sentiment words, so the rest are
    the label issues; `model` is recorded as the run's model directory."""
    from textlens.store.run_db import write_run_db

    rng = np.random.default_rng(seed)
    topic = rng.integers(0, len(TOPICS), n)
    centres = rng.normal(0, 6, (len(TOPICS), 2))
    xy = centres[topic] + rng.normal(0, 1.0, (n, 2))
    sentiment = rng.integers(0, 2, n)
    words = np.array([TOPICS[t][rng.integers(0, 4)] for t in topic])
    tone = np.where(sentiment == 1, rng.choice(POSITIVE, n), rng.choice(NEGATIVE, n))
    text = [f"the {w} was {t} and the {TOPICS[k][(i % 3) + 1]} too" for i, (w, t, k)
            in enumerate(zip(words, tone, topic, strict=True))]
    for i, custom in enumerate(texts[:n]):
        text[i] = custom
    flip = rng.random(n) < 0.1
    label = np.where(flip, 1 - sentiment, sentiment)
    p1 = np.clip(np.where(sentiment == 1, rng.beta(8, 2, n), rng.beta(2, 8, n)), 1e-4, 1 - 1e-4)
    probs = np.stack([1 - p1, p1], axis=1)
    pred = probs.argmax(axis=1)
    names = np.array(["negative", "positive"])
    samples = pd.DataFrame({
        "id": [f"s{i:06d}" for i in range(n)],
        "split": np.where(rng.random(n) < 0.8, "train", "validation"),
        "text": text, "label": names[label], "label_index": label.astype(np.int64),
        "text_length": [len(t.split()) for t in text],
        "year": rng.integers(2016, 2021, n).astype(np.int64), "p_0": probs[:, 0], "p_1": probs[:, 1],
        "loss": -np.log(probs[np.arange(n), label]), "prediction": names[pred],
        "predicted_label": pred.astype(np.int64), "confidence": probs.max(axis=1),
        "correct": (pred == label).astype(float), "x": xy[:, 0], "y": xy[:, 1],
        "cluster": topic.astype(np.int64)})
    samples["neighbours"] = _neighbours(xy, samples["id"].to_numpy())
    margin = probs[np.arange(n), label] - probs[np.arange(n), 1 - label]
    score = (1 - margin) / 2
    order = np.argsort(-score, kind="stable")
    issues = pd.DataFrame({
        "id": samples["id"].to_numpy()[order], "score": score[order],
        "rank": np.arange(1, n + 1), "flagged": score[order] > 0.5,
        "reason": [f"labelled {names[label[i]]} (p={probs[i, label[i]]:.2f}); model says "
                   f"{names[1 - label[i]]} (p={probs[i, 1 - label[i]]:.2f})" for i in order]})
    if with_kind:
        issues["kind"] = np.where(issues["flagged"], "label_error", "ambiguous")
    clusters = samples.groupby("cluster").agg(size=("id", "size"), mean_loss=("loss", "mean"),
                                              accuracy=("correct", "mean")).reset_index()
    clusters = clusters.rename(columns={"cluster": "id"})
    clusters["top_terms"] = [", ".join(TOPICS[c]) for c in clusters["id"]]
    clusters["labels"] = "negative 50%, positive 50%"
    slices = pd.DataFrame({"feature": ["cluster"] * len(clusters), "value": clusters["id"].astype(str),
                           "size": clusters["size"], "mean_loss": clusters["mean_loss"],
                           "loss_ratio": clusters["mean_loss"] / samples["loss"].mean(),
                           "accuracy": clusters["accuracy"], "p_value": 0.5})
    info = {"task": "classification", "dataset": "synthetic", "split": "all", "n": n,
            "model": model, "clustering": {"method": "synthetic", "clusters": len(TOPICS)}}
    write_run_db(out, {"samples": samples, "clusters": clusters, "label_issues": issues,
                       "slices": slices}, info)
    return Path(out)


def _neighbours(xy: np.ndarray, ids: np.ndarray, k: int = 10) -> list[str]:
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(xy) - 1)
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    return [json.dumps(ids[row[row != i][:k]].tolist()) for i, row in enumerate(index)]


def synthetic_corpus_run(out: str | Path, extra_column: bool = True, explained: int = 1) -> Path:
    """A corpus run with the tables of the corpus issue (#9), two countries x two years;
    `explained` copies of each stratum's explanation (more than the view shows: "20 of 30")."""
    from textlens.store.run_db import write_run_db

    docs = pd.DataFrame({"doc_id": ["USA_2019", "FRA_2019", "USA_2020", "FRA_2020"],
                         "path": ["Session 74 - 2019/USA_74_2019.txt", "Session 74 - 2019/FRA_74_2019.txt",
                                  "Session 75 - 2020/USA_75_2020.txt", "Session 75 - 2020/FRA_75_2020.txt"],
                         "country": ["USA", "FRA", "USA", "FRA"], "year": [2019, 2019, 2020, 2020],
                         "n_sentences": [3, 3, 3, 3]})
    rows = []
    for d in docs["doc_id"]:
        for s, (text, label) in enumerate([("Peace is our shared hope.", "positive"),
                                           ("The war caused terrible suffering.", "negative"),
                                           ("<b>We</b> thank the <i>Assembly</i>.", "positive")]):
            rows.append({"doc_id": d, "sentence_id": s, "text": text, "start": 0, "end": len(text),
                         "label": label, "confidence": 0.9, "p_negative": 0.1 if label == "positive"
                         else 0.9, "p_positive": 0.9 if label == "positive" else 0.1})
    sentences = pd.DataFrame(rows)
    groups = pd.DataFrame({"country": ["FRA", "FRA", "USA", "USA"], "year": [2019, 2020, 2019, 2020],
                           "n_sentences": 3, "n_positive": [2, 1, 2, 0], "n_negative": [1, 2, 1, 3],
                           "n_neutral": 0, "net_sentiment": [1, -1, 1, -3],
                           "net_per_100": [33.3, -33.3, 33.3, -100.0], "share_positive": [.67, .33, .67, 0],
                           "ci_low": [-30.0, -90.0, -30.0, -100.0], "ci_high": [90.0, 30.0, 90.0, -100.0]})
    if extra_column:
        groups["log_ratio"] = [0.5, -0.5, 0.5, -1.9]
    explanations = pd.DataFrame({
        "doc_id": ["USA_2019", "FRA_2020"], "sentence_id": [0, 1],
        "stratum": ["clear_positive", "near_threshold"], "method": "ig",
        "completeness_error": [0.003, 0.006],
        "words": [json.dumps(["Peace", "is", "our", "shared", "hope", "."]),
                  json.dumps(["The", "war", "caused", "terrible", "suffering", "."])],
        "word_scores": [json.dumps([0.4, 0.0, 0.05, 0.1, 0.5, 0.0]),
                        json.dumps([0.0, -0.6, -0.1, -0.7, -0.5, 0.0])]})
    explanations = pd.concat([explanations] * explained, ignore_index=True)
    bad = pd.DataFrame({"path": ["Session 74 - 2019/._USA_74_2019.txt"],
                        "reason": ["AppleDouble metadata file"]})
    write_run_db(out, {"documents": docs, "sentences": sentences, "groups": groups,
                       "explanations": explanations, "bad_files": bad},
                 {"task": "corpus", "dataset": "synthetic-ungdc"})
    return Path(out)
