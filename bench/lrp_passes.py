"""lrp with its prediction read off the attribution pass (the default) against a separate
prediction pass first (what every method did before), interleaved on the same sentences so the
shared machine's load falls on both alike; IG once beside them for the ratio. Median of --reps.

    python bench/lrp_passes.py --n 30 --threads 1
"""

from __future__ import annotations

import argparse
import statistics

from common import record, timed
from methods import sst2_sentences, ungdc_sentences

import textlens.attribution.api as api
from textlens.attribution import explain
from textlens.models.loading import default_model, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    loaded = load_model(default_model(), task="classification", device="cpu")
    folds = api.folds_prediction
    for which, texts in (("sst2", sst2_sentences(args.n)), ("ungdc", ungdc_sentences(args.n))):
        explain(texts[:2], model=loaded, method="lrp", truncate=True, progress=False)
        seconds: dict[str, list[float]] = {"folded": [], "separate": []}
        for _ in range(args.reps):
            for mode in seconds:
                api.folds_prediction = folds if mode == "folded" else (lambda m, p: False)
                with timed() as t:
                    explain(texts, model=loaded, method="lrp", truncate=True, progress=False)
                seconds[mode].append(t["seconds"])
        api.folds_prediction = folds
        with timed() as t:
            explain(texts, model=loaded, method="ig", truncate=True, progress=False)
        median = {m: statistics.median(s) for m, s in seconds.items()}
        result = {"sentences": len(texts), "seconds": seconds, "ig_seconds": t["seconds"],
                  "folded_speedup": median["separate"] / median["folded"],
                  "lrp_vs_ig_folded": t["seconds"] / median["folded"],
                  "lrp_vs_ig_separate": t["seconds"] / median["separate"]}
        print(which, {k: (round(v, 2) if isinstance(v, float) else v)
                      for k, v in result.items() if k != "seconds"}, flush=True)
        record("lrp_passes", f"{which}_{len(texts)}", result)


if __name__ == "__main__":
    main()
