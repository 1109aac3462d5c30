"""Gradient rows per sentence and per-token accuracy of IG variants (no timing: rows are what
an attribution pass costs on a CPU, where a pass runs near the core's float32 peak).

    python bench/attribution_rows.py [--sentences first|short] [--n 100] [--label NAME]

For each variant: the steps (quadrature nodes) and the rows actually run through the model per
sentence (baseline rows shared between texts counted once), the completeness errors, and the
token deviation from a 128-node Gauss-Legendre reference (completeness error < 1e-5): L1
(sum |a - ref| / sum |ref|) and max (max |a - ref| / max |ref|), median / p90 / max over the
sentences. Results are recorded (bench/common.py) under "SENTENCES/LABEL" in
bench/results/attribution_rows.json (runs before it: under SENTENCES, then LABEL), so a run on
an older checkout (PYTHONPATH=that/src) can sit beside the current one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from common import record

VARIANTS = {
    "default": {},
    "5 nodes on the last third too": {"last_segment_nodes": 5},
    "criterion total": {"criterion": "total"},
    "tolerance 0.5%": {"tolerance": 0.005},
    "fixed 50 Gauss-Legendre (transformers-interpret's rule)": {"steps": 50},
}


def spread(values: list[float]) -> list[float]:
    return [round(float(np.median(values)), 4), round(float(np.percentile(values, 90)), 4),
            round(float(np.max(values)), 4)]


def main() -> None:
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from attribution import sentence_set

    from textlens import explain, load_model
    from textlens.attribution import runner as runner_module

    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", choices=["first", "short"], default="first")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--label", default="current")
    parser.add_argument("--model", default=str(Path.home() / ".cache/textlens/models/"
                                               "sentiment-minilm"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded = load_model(args.model)
    texts = sentence_set(args.sentences, args.n)
    rows = [0]
    original = runner_module.Runner.gradients

    def counting(self, embeds, *rest, **options):
        rows[0] += embeds.shape[0]
        return original(self, embeds, *rest, **options)

    runner_module.Runner.gradients = counting
    reference = [np.asarray(e.scores) for e in
                 explain(texts, model=loaded, method="ig", steps=128, progress=False)]
    out = {}
    for name, options in VARIANTS.items():
        rows[0] = 0
        try:
            exps = explain(texts, model=loaded, method="ig", progress=False, **options)
        except Exception as error:  # an older checkout may lack an option
            out[name] = {"skipped": str(error).splitlines()[0]}
            continue
        l1 = [np.abs(np.asarray(e.scores) - r).sum() / np.abs(r).sum()
              for e, r in zip(exps, reference, strict=True)]
        top = [np.abs(np.asarray(e.scores) - r).max() / np.abs(r).max()
               for e, r in zip(exps, reference, strict=True)]
        errors = [e.completeness_error for e in exps]
        out[name] = {"options": options,
                     "steps_per_sentence": round(float(np.mean([e.steps for e in exps])), 2),
                     "rows_run_per_sentence": round(rows[0] / len(texts), 2),
                     "completeness_error_median_max": [round(float(np.median(errors)), 4),
                                                       round(float(np.max(errors)), 4)],
                     "above_1pct": int(sum(e > 0.01 for e in errors)),
                     "token_l1_median_p90_max": spread(l1),
                     "token_max_median_p90_max": spread(top)}
        print(args.label, name, out[name], flush=True)
    path = record("attribution_rows", f"{args.sentences}/{args.label}", {
        "n": len(texts), "model": args.model, "reference": "128-node Gauss-Legendre",
        "variants": out})
    print(f"wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("TEXTLENS_PROGRESS", "0")
    main()
