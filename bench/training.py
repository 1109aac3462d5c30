"""Training budgets on this machine: SST-2 accuracy and QA EM/F1 against wall-clock seconds.

Run on a quiet machine (nothing else on the cores):
    TEXTLENS_DATA=../shared/data .venv/bin/python bench/training.py --task classification
    TEXTLENS_DATA=../shared/data .venv/bin/python bench/training.py --task qa
Results are merged into bench/results/training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "training.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["classification", "qa"], required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="keep the model here")
    args = parser.parse_args()

    import torch

    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification, train_qa

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp()) / "model"
    started = time.perf_counter()
    if args.task == "classification":
        config = TrainConfig(args.steps or 400, 32, 5e-5, 64, seed=0)
        record = train_classification(load_dataset("sst2", "train"),
                                      load_dataset("sst2", "validation"), out, config)
        headline = {"validation_accuracy": record["metrics"]["accuracy"],
                    "validation_macro_f1": record["metrics"]["macro_f1"]}
    else:
        config = TrainConfig(args.steps or 312, 16, 1e-4, 256, seed=0)
        record = train_qa(load_dataset("squad", "train"), load_dataset("squad", "validation"),
                          out, config, stride=128)
        m = record["metrics"]
        headline = {"exact_match": m["exact_match"], "f1": m["f1"],
                    "exact_match_stripped": m["stripped"]["exact_match"],
                    "f1_stripped": m["stripped"]["f1"], "validation_questions": m["n"]}
    total = time.perf_counter() - started
    result = {
        "config": {k: record[k] for k in ("max_steps", "batch_size", "lr", "max_length", "seed")},
        "train_seconds": record["seconds"],
        "total_seconds_with_evaluation": round(total, 1),
        **headline,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "load_average_at_end": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[f"{args.task}_{record['max_steps']}_steps"] = result
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
