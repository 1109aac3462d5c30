"""textlens before/after: one `explain` call over a sentence set, textlens imported from the
source folder given (e.g. ../main/src against this checkout's src), so that two versions can be
timed in interleaved processes on one machine. Prints one JSON line (with bench/common.py's
machine block):

    for r in 1 2; do for src in ../main/src src; do
      python bench/attribution_ab.py $src 60 short; done; done \
      >> bench/results/attribution_before_after.jsonl
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from common import machine, timed

MODEL = Path.home() / ".cache/textlens/models/sentiment-minilm"


def main(src: str, n: int, which: str) -> None:
    sys.path.insert(0, src)
    import torch

    torch.set_num_threads(2)
    load_dataset = importlib.import_module("textlens.data").load_dataset
    load_model = importlib.import_module("textlens.models.loading").load_model
    explain = importlib.import_module("textlens.attribution").explain
    texts = [e.text for e in load_dataset("sst2", "validation")]
    if which == "short":
        texts = [t for t in texts if 8 <= len(t.split()) <= 15]
    texts = texts[:n]
    model = load_model(str(MODEL), device="cpu")
    explain(texts[:2], model=model, progress=False)  # warm-up
    with timed() as t:
        exps = explain(texts, model=model, progress=False)
    seconds = t["seconds"]
    print(json.dumps({"src": src, "set": which, "n": len(texts),
                      "sent_per_s": len(texts) / seconds,
                      "steps": sum(e.steps for e in exps) / len(exps),
                      "max_err": max(e.completeness_error for e in exps),
                      "machine": machine()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
