"""Benchmark: textlens IG (adaptive) vs transformers-interpret vs Captum LayerIntegratedGradients.

Same fine-tuned model, same SST-2 validation sentences, 2 CPU threads. Each tool explains the
whole set the way its API is meant to be used (textlens: one batch call; the others: one call
a sentence), in interleaved rounds (rotating order) so that CPU contention from other processes
hits all of them alike. Reports sentences/s, completeness errors and top-5 word agreement.

    python bench/attribution.py --model ~/.cache/textlens/models/sentiment-minilm --n 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from textlens.attribution import explain
from textlens.attribution.aggregate import word_scores
from textlens.attribution.encoding import encode
from textlens.data import load_dataset
from textlens.models.loading import load_model
from textlens.store.files import atomic_write_json


def textlens_ig(loaded, texts, **options):
    exps = explain(texts, model=loaded, method="ig", progress=False, **options)
    return [(e.scores, e.completeness_error, e.steps) for e in exps]


def transformers_interpret(loaded, texts):
    from transformers_interpret import SequenceClassificationExplainer

    explainer = SequenceClassificationExplainer(loaded.model, loaded.tokenizer)
    out = []
    for text in texts:
        pairs = explainer(text)
        # Its convergence delta uses position ids of 0 for the baseline, which the integral
        # never sees; the sum of its raw attributions is compared with F(x) - F(b) instead.
        total = float(explainer.attributions._attributions.sum())
        out.append(([s for _, s in pairs], total, 50))
    return out


def captum_lig(loaded, texts, steps=50):
    from captum.attr import LayerIntegratedGradients

    model = loaded.model

    def forward(ids, types, target):
        logits = model(input_ids=ids, token_type_ids=types).logits
        return torch.softmax(logits, -1)[:, target]

    lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
    out = []
    for text in texts:
        e = encode(loaded, text)
        ids = torch.tensor([e.input_ids])
        base = torch.tensor([e.baseline_ids(loaded.tokenizer.pad_token_id)])
        types = torch.zeros_like(ids)
        with torch.no_grad():
            target = int(model(input_ids=ids).logits.argmax())
        attr, delta = lig.attribute(ids, base, additional_forward_args=(types, target),
                                    n_steps=steps, method="gausslegendre",
                                    return_convergence_delta=True)
        out.append((attr.sum(-1)[0].tolist(), float(attr.sum()), steps))
    return out


def relative_errors(loaded, texts, totals):
    """|sum(attr) - (F(x) - F(b))| / |F(x) - F(b)|, F = probability of the predicted class."""
    errors = []
    with torch.no_grad():
        for text, total in zip(texts, totals, strict=True):
            e = encode(loaded, text)
            ids = torch.tensor([e.input_ids, e.baseline_ids(loaded.tokenizer.pad_token_id)])
            p = torch.softmax(loaded.model(input_ids=ids).logits, -1)
            k = int(p[0].argmax())
            change = float(p[0, k] - p[1, k])
            errors.append(abs(total - change) / max(abs(change), 1e-12))
    return errors


def top_words(loaded, text, token_scores, k=5):
    e = encode(loaded, text)
    words, spans, scores = word_scores(e, token_scores)
    order = np.argsort(-np.asarray(scores))[:k]
    return {spans[i] for i in order}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(Path.home() / ".cache/textlens/models/"
                                                "sentiment-minilm"))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tools", default="textlens,transformers-interpret,captum")
    parser.add_argument("--out", default="bench/results/attribution.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, device="cpu")
    texts = [ex.text for ex in load_dataset("sst2", "validation")][: args.n]
    tools = {"textlens": lambda t: textlens_ig(loaded, t),
             "transformers-interpret": lambda t: transformers_interpret(loaded, t),
             "captum": lambda t: captum_lig(loaded, t)}
    tools = {k: v for k, v in tools.items() if k in args.tools.split(",")}
    for fn in tools.values():  # warm-up
        fn(texts[:2])
    seconds = dict.fromkeys(tools, 0.0)
    results: dict[str, list] = {}
    for r in range(args.rounds):
        names = list(tools)
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            results[name] = tools[name](texts)
            seconds[name] += time.perf_counter() - start
    seconds = {name: s / args.rounds for name, s in seconds.items()}
    report: dict = {"n_sentences": len(texts), "threads": args.threads, "model": args.model,
                    "rounds": args.rounds,
                    "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                                "torch": torch.__version__,
                                "load_average_at_end": os.getloadavg()},
                    "tools": {}}
    for name, rows in results.items():
        if name == "textlens":
            errors = [r[1] for r in rows]
        else:
            errors = relative_errors(loaded, texts, [r[1] for r in rows])
        report["tools"][name] = {
            "seconds": seconds[name], "sentences_per_s": len(texts) / seconds[name],
            "completeness_error_median": float(np.median(errors)),
            "completeness_error_max": float(np.max(errors)),
            "n_above_1pct": int(sum(e > 0.01 for e in errors)),
            "steps_mean": float(np.mean([r[2] for r in rows]))}
    if "textlens" in results and "transformers-interpret" in results:
        jac = []
        for text, ours, theirs in zip(texts, results["textlens"],
                                      results["transformers-interpret"], strict=True):
            a, b = top_words(loaded, text, ours[0]), top_words(loaded, text, theirs[0])
            jac.append(len(a & b) / len(a | b))
        report["top5_word_jaccard_vs_transformers_interpret"] = {
            "mean": float(np.mean(jac)), "median": float(np.median(jac))}
        report["speedup_vs_transformers_interpret"] = (
            report["tools"]["textlens"]["sentences_per_s"]
            / report["tools"]["transformers-interpret"]["sentences_per_s"])
    print(json.dumps(report, indent=2))
    atomic_write_json(args.out, report)


if __name__ == "__main__":
    main()
