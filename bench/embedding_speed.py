"""Embedding extraction and prediction: samples/s with batches sorted by length (the default)
against batches in input order, same batch size, interleaved rounds, on one device.

    python bench/embedding_speed.py [--device cuda] [--n 872]
Results: bench/results/embedding_speed[_DEVICE].json (key "report", with bench/common.py's
machine block: shared machines).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from common import record, timed

from textlens.data import load_dataset
from textlens.latent import embeddings as embeddings_module
from textlens.latent.embeddings import EmbeddingOptions, embed_qa, embed_texts
from textlens.models import predict as predict_module
from textlens.models.loading import load_model, new_model


def input_order(lengths, batch_size, max_tokens=None):
    """Batches in input order (what sorting by length is compared with)."""
    return [list(range(i, min(len(lengths), i + batch_size)))
            for i in range(0, len(lengths), batch_size)]


def time_task(fn, device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    with timed() as t:
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return t["seconds"], out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(Path.home() / ".cache/textlens/models/"
                                                "sentiment-minilm"))
    parser.add_argument("--n", type=int, default=872)
    parser.add_argument("--qa-n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clf = load_model(args.model, device=args.device)
    qa = new_model("qa", device=args.device)  # untrained head: speed only
    texts = [e.text for e in load_dataset("sst2", "validation")][: args.n]
    questions = list(load_dataset("squad", "validation"))[: args.qa_n]
    options = EmbeddingOptions(batch_size=args.batch_size)
    tasks = {
        "embed_sst2_sentences": (lambda: embed_texts(clf, texts, options, progress=False),
                                 len(texts)),
        "predict_sst2_sentences": (lambda: predict_module.predict_classification(
            clf, texts, batch_size=args.batch_size, progress=False).probabilities, len(texts)),
        "embed_squad_windows": (lambda: embed_qa(qa, questions, options=options,
                                                 progress=False), len(questions)),
    }
    sorted_batches = predict_module.length_batches
    rates: dict[str, dict[str, list[float]]] = {t: {"sorted": [], "input_order": []}
                                                for t in tasks}
    for r in range(args.rounds):
        for variant in (["sorted", "input_order"] if r % 2 == 0 else ["input_order", "sorted"]):
            batches = sorted_batches if variant == "sorted" else input_order
            predict_module.length_batches = batches
            embeddings_module.length_batches = batches
            for name, (fn, n) in tasks.items():
                seconds, out = time_task(fn, clf.device)
                rates[name][variant].append(n / seconds)
    predict_module.length_batches = embeddings_module.length_batches = sorted_batches
    report = {"device": args.device, "threads": args.threads, "batch_size": args.batch_size,
              "n_sentences": len(texts), "n_squad_questions": len(questions),
              "samples_per_s": {t: {v: float(np.mean(x)) for v, x in d.items()}
                                for t, d in rates.items()},
              "samples_per_s_by_round": rates}
    print(json.dumps(report, indent=2))
    suffix = "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    record(f"embedding_speed{suffix}", "report", report)


if __name__ == "__main__":
    main()
