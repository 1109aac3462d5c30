"""Every attribution method side by side on the same sentences, with the demo model.

For each set (SST-2 validation: the first N sentences; UNGDC: N sentences drawn with a seed from
the 2016-2020 speeches, segmented as `textlens corpus` does, the out-of-domain case) and each
method: sentences/s (one `explain` call over the set), model rows per sentence (the method's
own: IG's gradient rows, lrp's one forward+backward, shap/lime's forward evaluations; every
method also runs one forward row a sentence for the prediction and one for F(baseline)),
AOPC comprehensiveness and sufficiency with 95% bootstrap intervals over sentences
(`attribution.faithfulness.erasure`), and the share of each sentence's top-5 words (by word
score) that are also IG's. shap and lime run twice: at a stated budget (--budget model
evaluations a sentence) and at IG's wall time (the budget their measured evaluations/s buy in
IG's seconds a sentence; never under what a sentence needs, and the count of sentences raised
to that floor is recorded). Timings carry the load average (bench/common.py): on the shared
2-core machine they are upper bounds.

    python bench/methods.py                      # the full run: 200 + 200 sentences (CPU)
    python bench/methods.py --n 20 --sets sst2   # a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import numpy as np
from common import record, timed

from textlens.attribution import explain
from textlens.attribution.faithfulness import erasure
from textlens.models.loading import default_model, load_model

METHODS = ("ig", "lrp", "gradient-x-input", "saliency", "occlusion", "shap", "lime")
PERTURBATION = ("shap", "lime")


def sst2_sentences(n: int) -> list[str]:
    from textlens.data import load_dataset

    return [ex.text for ex in load_dataset("sst2", "validation")][:n]


def ungdc_sentences(n: int, seed: int = 0) -> list[str]:
    """A seeded sample of sentences (5-60 words) from the UNGDC speeches."""
    from textlens.config import data_dir
    from textlens.corpus.segment import segment

    files = sorted((data_dir() / "ungdc").rglob("*.txt"))
    files = [f for f in files if f.name != "README.txt"]
    rng = random.Random(seed)
    picked: list[str] = []
    for path in rng.sample(files, min(len(files), 4 * n)):
        sentences = [s.text for s in segment(path.read_text(encoding="utf-8", errors="replace"))
                     if 5 <= len(s.text.split()) <= 60]
        if sentences:
            picked.append(rng.choice(sentences))
        if len(picked) == n:
            break
    return picked


def top_words(exp, k: int = 5) -> set[int]:
    return set(np.argsort(-np.asarray(exp.word_scores), kind="stable")[:k].tolist())


def agreement(exps, reference) -> float:
    """Mean share of a sentence's top-5 words that are also the reference's top 5."""
    shares = [len(top_words(a) & top_words(b)) / max(1, min(5, len(a.words)))
              for a, b in zip(exps, reference, strict=True)]
    return float(np.mean(shares))


def run_method(loaded, texts, method: str, **options) -> tuple[list, float]:
    with timed() as t:
        exps = explain(texts, model=loaded, method=method, truncate=True, progress=False,
                       **options)
    return exps, t["seconds"]


def per_sentence_budget(loaded, texts, method: str, budget: int) -> tuple[list, float, int]:
    """Each sentence at `budget` evaluations, raised to what the method needs for it (shap:
    2 per word; lime: one more than the words); returns how many were raised."""
    exps, seconds, raised = [], 0.0, 0
    for text in texts:
        words = len(explain([text], model=loaded, method="gxi", truncate=True,
                            progress=False)[0].words)
        floor = 2 * words if method == "shap" else words + 1
        raised += budget < floor
        found, took = run_method(loaded, [text], method, max_evals=max(budget, floor))
        exps += found
        seconds += took
    return exps, seconds, raised


def row(loaded, name: str, exps, seconds: float, ig, extra: dict | None = None) -> dict:
    scores = erasure(loaded, exps, name).to_dict()
    out = {"method": name, "sentences_per_s": len(exps) / seconds,
           "seconds_per_sentence": seconds / len(exps),
           "rows_per_sentence": float(np.mean([e.steps for e in exps])),
           "aopc_comprehensiveness": scores["aopc_comprehensiveness"],
           "aopc_comprehensiveness_ci95": scores["aopc_comprehensiveness_ci95"],
           "aopc_sufficiency": scores["aopc_sufficiency"],
           "aopc_sufficiency_ci95": scores["aopc_sufficiency_ci95"],
           "top5_agreement_with_ig": agreement(exps, ig) if ig is not None else None,
           **(extra or {})}
    errors = [e.completeness_error for e in exps if e.completeness_error is not None]
    if errors:
        out["completeness_error_median"] = float(np.median(errors))
    conservation = [e.conservation_error for e in exps if e.conservation_error is not None]
    if conservation:
        out["conservation_error_median"] = float(np.median(conservation))
    print(f"  {name:<22} {out['sentences_per_s']:7.2f} sent/s  rows {out['rows_per_sentence']:7.1f}"
          f"  comp {out['aopc_comprehensiveness']:.3f}  suff {out['aopc_sufficiency']:.3f}"
          f"  top5~ig {out['top5_agreement_with_ig'] or 1.0:.2f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="default: the demo sentiment model")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sets", default="sst2,ungdc")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--budget", type=int, default=500, help="shap/lime evaluations")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default torch's; 1 under load: 2 threads spin)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    loaded = load_model(args.model or default_model(), task="classification",
                        device=args.device)
    methods = [m for m in args.methods.split(",") if m]
    for which in args.sets.split(","):
        texts = sst2_sentences(args.n) if which == "sst2" else ungdc_sentences(args.n)
        print(f"{which}: {len(texts)} sentences, load average {os.getloadavg()}", flush=True)
        for method in methods:  # imports (shap: seconds) and first-call costs out of the timings
            explain(texts[:1], model=loaded, method=method, truncate=True, progress=False)
        start = time.perf_counter()
        ig_exps, ig_seconds = run_method(loaded, texts, "ig")
        rows = [row(loaded, "ig", ig_exps, ig_seconds, ig_exps)]
        for method in (m for m in methods if m != "ig"):
            if method in PERTURBATION:
                exps, seconds, raised = per_sentence_budget(loaded, texts, method, args.budget)
                rows.append(row(loaded, f"{method}@{args.budget}", exps, seconds, ig_exps,
                                {"budget": args.budget, "raised_to_floor": raised}))
                rate = sum(e.steps for e in exps) / seconds  # evaluations per second
                equal = max(1, int(rate * ig_seconds / len(texts)))
                exps, seconds, raised = per_sentence_budget(loaded, texts, method, equal)
                rows.append(row(loaded, f"{method}@ig-time", exps, seconds, ig_exps,
                                {"budget": equal, "raised_to_floor": raised}))
            else:
                exps, seconds = run_method(loaded, texts, method)
                rows.append(row(loaded, method, exps, seconds, ig_exps))
        ig_rate = rows[0]["sentences_per_s"]
        for r in rows:
            r["speed_vs_ig"] = r["sentences_per_s"] / ig_rate
        suffix = "" if args.device == "cpu" else f"_{args.device}"
        record("methods", f"{which}_{len(texts)}{suffix}",
               {"sentences": len(texts), "set": which, "model": str(Path(loaded.source)),
                "budget": args.budget, "threads_arg": args.threads,
                "wall_seconds": time.perf_counter() - start, "rows": rows})


if __name__ == "__main__":
    main()
