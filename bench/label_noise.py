"""Label-noise benchmark: planted errors of several kinds, every ranking side by side.

    python bench/label_noise.py [--task classification|qa|both] [--seeds 0 1 2 3 4]
    python bench/label_noise.py --tuning      # seeds 100-104: the only seeds used for tuning

Classification (SST-2 validation, 872 sentences, probabilities of the fine-tuned
`sentiment-minilm`, which never trained on them: out-of-sample), 8% noise per kind:
  uniform      labels flipped at random;
  classcond    positive -> negative only;
  duplicates   near-duplicate copies (one word dropped or two neighbours swapped) of 8% of the
               sentences added with the *other* label (the noise), and copies of another 8%
               with the same label (clean controls).
QA (SQuAD validation articles, see bench/label_noise_qa.py).

Every ranking is scored by precision@K and recall@K with K = the number planted (equal by
construction), recall@2K, and AUROC; seeds are averaged. Rankings: loss, margin, cleanlab's
`find_label_issues` (flagged first, by self-confidence, then the rest by label quality), random,
textlens's `classification_issues`, each textlens signal alone (the noise posterior with the
plain confident-joint transition and with the directional one; the embedding head, one 10-fold
split; the bag-of-words head on the texts; latent neighbours; near-duplicate conflicts), and
ablations of textlens (without embeddings; with the plain transition; without the bag-of-words
head; the settings before issue #13: 5 folds, model weight 0.5, plain transition, no
bag-of-words head). Costs are seconds per ranking on this machine (shared 2 cores: upper
bounds). Results: bench/results/label_noise.json.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import record, result, timed

from textlens.latent.issues import signals
from textlens.latent.issues.classification import (
    HEAD_FOLDS,
    ClassEvidence,
    NearDuplicateConflict,
    WrongClass,
    class_evidence,
    classification_issues,
    combined_score,
    crossval_probabilities,
)

RESULTS = Path(__file__).parent / "results"
CACHE = Path(os.environ.get("TEXTLENS_CACHE", Path.home() / ".cache" / "textlens"))
BENCH_SEEDS = (0, 1, 2, 3, 4)
TUNING_SEEDS = (100, 101, 102, 103, 104)
# SQuAD validation questions in file order: the benchmark's 5 articles (Teacher ... Genghis_Khan)
# and the 5 other articles (Harvard_University ... French_and_Indian_War) used only for tuning.
BENCH_QA, TUNING_QA = (0, 1114), (1114, 2062)
RATE = 0.08
NOTE = "2 CPU cores shared with other engineers' jobs: seconds are upper bounds"


def near_duplicate(text: str, rng: np.random.Generator) -> str:
    """One small edit: drop a word, or swap two neighbouring words (a re-scraped duplicate)."""
    words = text.split()
    if len(words) < 4:
        return text + " ."
    if rng.random() < 0.5:
        i = int(rng.integers(1, len(words)))
        return " ".join(words[:i] + words[i + 1:])
    i = int(rng.integers(0, len(words) - 1))
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def metrics(score: np.ndarray, positive: np.ndarray, exclude: np.ndarray | None = None) -> dict:
    """precision@K = recall@K (K = #positives), recall@2K and AUROC of one ranking."""
    from sklearn.metrics import roc_auc_score

    keep = np.ones(len(score), bool) if exclude is None else ~exclude
    s, pos = score[keep], positive[keep]
    k = int(pos.sum())
    order = np.argsort(-s, kind="stable")
    hits = pos[order]
    return {"precision_at_k": float(hits[:k].mean()), "recall_at_k": float(hits[:k].sum() / k),
            "recall_at_2k": float(hits[:2 * k].sum() / k), "auroc": float(roc_auc_score(pos, s)),
            "k": k}


def time_ranking(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    with timed() as t:
        out = fn()
    return out, t["seconds"]


def average(runs: list[dict]) -> dict:
    """Mean over seeds of every metric of every ranking: {ranking: {metric: mean}}."""
    out: dict = {}
    for name in runs[0]:
        out[name] = {m: round(float(np.mean([r[name][m] for r in runs])), 3)
                     for m in runs[0][name]}
    return out


def sst2_features() -> dict:
    """Out-of-sample probabilities and [CLS] embeddings of SST-2 validation and of one
    near-duplicate variant per sentence (cached: the model runs once)."""
    path = CACHE / "label_noise" / "sst2_validation.npz"
    if not path.exists():
        import torch

        from textlens.data import load_dataset
        from textlens.latent.embeddings import embed_texts
        from textlens.models.loading import load_model
        from textlens.models.predict import predict_classification

        torch.set_num_threads(1)
        data = load_dataset("sst2", "validation")
        texts = [e.text for e in data]
        rng = np.random.default_rng(12345)
        dups = [near_duplicate(t, rng) for t in texts]
        model = load_model(CACHE / "models" / "sentiment-minilm", device="cpu")
        with timed() as predict_s:
            pred = predict_classification(model, texts + dups, None, progress=False)
        with timed() as embed_s:
            emb = embed_texts(model, texts + dups, progress=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, texts=np.array(texts), dups=np.array(dups),
                 labels=np.array([e.label for e in data]), probs=pred.probabilities, emb=emb,
                 predict_s=predict_s["seconds"], embed_s=embed_s["seconds"])
    z = np.load(path)
    return {k: z[k] for k in z.files}


def plant_classification(f: dict, kind: str, seed: int) -> dict:
    """Noisy labels (and rows) for one kind; `positive` marks the planted errors."""
    texts, dups = [str(t) for t in f["texts"]], [str(t) for t in f["dups"]]
    y0, n = f["labels"].astype(np.int64), len(texts)
    probs, emb = f["probs"].astype(np.float64), f["emb"]
    rng = np.random.default_rng(seed)
    m = int(RATE * n)
    y, rows = y0.copy(), np.arange(n)
    if kind == "uniform":
        flip = rng.choice(n, m, replace=False)
    elif kind == "classcond":
        flip = rng.choice(np.flatnonzero(y0 == 1), m, replace=False)
    else:
        pick = rng.choice(n, 2 * m, replace=False)
        bad, good = pick[:m], pick[m:]
        rows = np.concatenate([rows, n + bad, n + good])
        y = np.concatenate([y0, 1 - y0[bad], y0[good]])
        positive = np.zeros(len(y), bool)
        positive[n:n + m] = True
        all_texts = texts + dups
        return {"labels": y, "probs": probs[rows], "emb": emb[rows], "positive": positive,
                "texts": [all_texts[r] for r in rows]}
    y[flip] = 1 - y[flip]
    positive = np.zeros(n, bool)
    positive[flip] = True
    return {"labels": y, "probs": probs[:n], "emb": emb[:n], "positive": positive,
            "texts": texts}


class ConfidentJointWrongClass(WrongClass):
    """The `wrong class` issue type with the plain confident-joint transition (the ablation)."""

    def transition(self, labels: np.ndarray, model: np.ndarray
                   ) -> tuple[np.ndarray, list[signals.NoiseDirection]]:
        return signals.noise_transition(labels, model), []


def composed(evidence: ClassEvidence, wrong: WrongClass) -> np.ndarray:
    """The library's score (`combined_score`) from the issue types, on the evidence given."""
    return combined_score([wrong.find(evidence), NearDuplicateConflict().find(evidence)])


def classification_rankings(d: dict, seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """Every ranking of one noisy set: {name: (score, seconds)}; higher score = more suspect.
    textlens's ablations compose its issue types from views blended here."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    y, p, emb, texts = d["labels"], d["probs"], d["emb"], d["texts"]
    rows, ids = np.arange(len(y)), [str(i) for i in range(len(y))]

    def cleanlab() -> np.ndarray:
        score = -get_label_quality_scores(y, p)
        score[find_label_issues(y, p, return_indices_ranked_by="self_confidence")] += 10.0
        return score

    def margin() -> np.ndarray:
        other = p.copy()
        other[rows, y] = -np.inf
        return other.max(axis=1) - p[rows, y]

    def textlens(**kw) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            score = np.zeros(len(y))
            for issue in classification_issues(ids, y, p, ("negative", "positive"), **kw):
                score[int(issue.id)] = issue.score
            return score
        return run

    # the textlens rows fit their heads with split seed 0 whatever the noise seed, as
    # `classification_issues` does by default
    def plain_transition() -> np.ndarray:
        evidence = class_evidence(y, p, embeddings=emb, texts=texts)
        return composed(evidence, ConfidentJointWrongClass())

    def without_words() -> np.ndarray:  # the texts serve the near-duplicate search only
        e = class_evidence(y, p, embeddings=emb)
        return composed(replace(e, texts=tuple(texts)), WrongClass())

    def before_13() -> np.ndarray:  # 5 folds, one split, model weight 0.5, no text head
        head = crossval_probabilities(emb, y, folds=5)
        evidence = ClassEvidence(y, p, signals.blend(p, head, 0.5), head, None, tuple(texts))
        return composed(evidence, ConfidentJointWrongClass())

    def neighbours() -> np.ndarray:
        idx, sim = signals.latent_neighbours(emb, 10)
        return 1.0 - signals.neighbour_label_agreement(idx, y, sim)

    def head() -> np.ndarray:
        cv = crossval_probabilities(emb, y, folds=HEAD_FOLDS, seed=seed)
        return -np.log(cv[rows, y] + 1e-12)

    def words() -> np.ndarray:
        cv = signals.text_head_probabilities(texts, y, folds=HEAD_FOLDS, seed=seed)
        return -np.log(cv[rows, y] + 1e-12)

    def conflicts() -> np.ndarray:
        out = np.zeros(len(y))
        for i, j, _ in signals.near_duplicate_pairs(texts):
            if y[i] != y[j]:
                out[[i, j]] = 1.0
        return out - 1e-3 * p[rows, y]  # ties broken by the loss

    rng = np.random.default_rng(seed + 7)
    rankings = {
        "loss": lambda: -np.log(p[rows, y] + 1e-12), "margin": margin, "cleanlab": cleanlab,
        "random": lambda: rng.random(len(y)),
        "textlens": textlens(embeddings=emb, texts=texts),
        "signal: noise posterior (confident joint)": lambda: signals.wrong_label_posterior(y, p),
        "signal: directional noise posterior": lambda: signals.wrong_label_posterior(
            y, p, signals.directional_noise_transition(y, p)[0]),
        f"signal: embedding head ({HEAD_FOLDS}-fold)": head,
        f"signal: bag-of-words head ({HEAD_FOLDS}-fold)": words,
        "signal: latent neighbours": neighbours,
        "signal: near-duplicate conflict": conflicts,
        "textlens without embeddings": textlens(texts=texts),
        "textlens, confident-joint transition": plain_transition,
        "textlens without the bag-of-words head": without_words,
        "textlens before #13 (5 folds, model weight 0.5, confident joint)": before_13,
    }
    return {name: time_ranking(fn) for name, fn in rankings.items()}


def run_classification(seeds: tuple[int, ...]) -> dict:
    f = sst2_features()
    out: dict = {"data": "SST-2 validation (872 sentences)", "model": "sentiment-minilm",
                 "probabilities": "out-of-sample (the model trained on SST-2 train only)",
                 "rate": RATE, "model_predict_s": round(float(f["predict_s"]), 1),
                 "model_embed_s": round(float(f["embed_s"]), 1), "seeds": list(seeds),
                 "tuning_seeds": list(TUNING_SEEDS), "kinds": {}}
    for kind in ("uniform", "classcond", "duplicates"):
        runs, costs = [], {}
        for seed in seeds:
            d = plant_classification(f, kind, seed)
            ranked = classification_rankings(d, seed)
            runs.append({name: metrics(s, d["positive"]) for name, (s, _) in ranked.items()})
            for name, (_, sec) in ranked.items():
                costs.setdefault(name, []).append(sec)
        out["kinds"][kind] = {"metrics": average(runs),
                              "seconds": {k: round(float(np.mean(v)), 3) for k, v in costs.items()},
                              "planted_per_seed": runs[0]["loss"]["k"]}
        print(kind, json.dumps({k: v["precision_at_k"] for k, v in
                                out["kinds"][kind]["metrics"].items()}), flush=True)
    y0 = f["labels"]
    pairs = signals.near_duplicate_pairs([str(t) for t in f["texts"]])
    out["natural_conflicting_near_duplicates"] = sum(y0[i] != y0[j] for i, j, _ in pairs)
    out["natural_near_duplicate_pairs"] = len(pairs)  # false alarms on the unplanted data
    return out


def table(results: dict) -> str:
    """Markdown tables of precision@K (AUROC) per kind, from a results JSON (either shape:
    `record`'s, or the one written before bench/common.py)."""
    lines = []
    cls = result(results.get("classification"))
    if cls:
        kinds = list(cls["kinds"])
        lines += ["| SST-2 ranking | " + " | ".join(kinds) + " | seconds |",
                  "|---|" + "---|" * (len(kinds) + 1)]
        for name in cls["kinds"][kinds[0]]["metrics"]:
            cells = [f"{cls['kinds'][k]['metrics'][name]['precision_at_k']:.3f} "
                     f"({cls['kinds'][k]['metrics'][name]['auroc']:.3f})" for k in kinds]
            lines.append(f"| {name} | " + " | ".join(cells)
                         + f" | {cls['kinds'][kinds[0]]['seconds'][name]:.2f} |")
    qa = result(results.get("qa"))
    if qa:
        kinds = ["moved", "swapped", "boundary"]
        lines += ["", "| SQuAD ranking | " + " | ".join(kinds)
                  + " | controls in top K (clean) | seconds |", "|---|" + "---|" * 5]
        for name, m in qa["metrics"].items():
            cells = [f"{m[k]['precision_at_k']:.3f} ({m[k]['auroc']:.3f})" for k in kinds]
            fa = f"{m['control']['false_alarm_rate']:.3f} ({m['control']['clean_in_top_k_rate']:.3f})"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {fa} | {qa['seconds'][name]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=("classification", "qa", "both"), default="both")
    parser.add_argument("--tuning", action="store_true", help="seeds 100-104, not written")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(BENCH_SEEDS))
    parser.add_argument("--qa-questions", default=None,
                        help="START:END of the validation questions in file order (default: "
                             f"{BENCH_QA}, with --tuning {TUNING_QA})")
    parser.add_argument("--qa-model", default=str(CACHE / "models" / "squad-minilm"),
                        help="model directory or training checkpoint")
    parser.add_argument("--fit", action="store_true",
                        help="with --tuning: fit the QA combination weights")
    parser.add_argument("--out", default=str(RESULTS / "label_noise.json"))
    parser.add_argument("--table", action="store_true", help="print the README tables of --out")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(Path(args.out).read_text())))
        return
    os.environ.setdefault("TEXTLENS_PROGRESS", "0")
    seeds = (TUNING_SEEDS + (105, 106, 107, 108, 109) if args.fit else TUNING_SEEDS) \
        if args.tuning else tuple(args.seeds)
    out: dict = {}
    if args.task in ("classification", "both"):
        out["classification"] = run_classification(seeds)
    if args.task in ("qa", "both"):
        from label_noise_qa import run_qa

        span = (TUNING_QA if args.tuning else BENCH_QA) if args.qa_questions is None else (
            int(args.qa_questions.split(":")[0]), int(args.qa_questions.split(":")[1]))
        out["qa"] = run_qa(seeds, span, Path(args.qa_model), args.fit and args.tuning)
    if args.tuning:  # never written: tuning seeds are not the benchmark's
        print(json.dumps(out, indent=1))
        return
    for key, value in out.items():
        path = record("label_noise", key, {"note": NOTE, **value}, path=args.out)
    print(f"wrote {path}")

if __name__ == "__main__":
    main()
