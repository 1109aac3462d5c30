"""Benchmark: textlens IG (adaptive) vs transformers-interpret vs Captum LayerIntegratedGradients.

Same fine-tuned model, same SST-2 validation sentences, same device (2 CPU threads on a CPU).
Each tool explains the whole set the way its API is meant to be used (textlens: one batch call;
the others: one call a sentence), in interleaved rounds (rotating order) so that contention from
other processes hits all of them alike. Reports sentences/s, completeness errors, top-5 word
agreement, the machine and load (bench/common.py), and the ceiling: a bare forward + input-gradient
backward of the same model in large batches of rows as long as the set's mean sentence, turned
into sentences/s at textlens's rows per sentence.

    python bench/attribution.py --n 100                        # first 100 validation sentences
    python bench/attribution.py --sentences short --n 100      # 8-15-word validation sentences
    python bench/attribution.py --device cuda --n 872 --out bench/results/attribution_cuda.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from common import record, timed

from textlens.attribution import explain
from textlens.attribution.aggregate import word_scores
from textlens.attribution.encoding import encode
from textlens.data import load_dataset
from textlens.models.loading import load_model


def textlens_ig(loaded, texts, **options):
    exps = explain(texts, model=loaded, method="ig", progress=False, **options)
    return [(e.scores, e.completeness_error, e.steps) for e in exps]


def sentence_set(which: str, n: int) -> list[str]:
    """`first`: the first n SST-2 validation sentences; `short`: the first n of those with
    8-15 words (whitespace-separated; 246 of the 872)."""
    texts = [ex.text for ex in load_dataset("sst2", "validation")]
    if which == "short":
        texts = [t for t in texts if 8 <= len(t.split()) <= 15]
    return texts[:n]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def ceiling(loaded, length: int, rows_per_sentence: float, tokens_per_pass: int,
            seconds: float = 5.0) -> dict:
    """Rows/s of a bare forward + input-gradient backward (the full model, weights frozen) over
    batches of `tokens_per_pass` tokens of `length`-token rows, and the sentences/s that is at
    `rows_per_sentence` rows a sentence: what no IG at that many rows can beat."""
    model, device = loaded.model, loaded.device
    rows = max(1, tokens_per_pass // length)
    x = torch.randn(rows, length, model.config.hidden_size, device=device) * 0.05
    types = torch.zeros(rows, length, dtype=torch.long, device=device)
    for p in model.parameters():
        p.requires_grad_(False)

    def step() -> None:
        xx = x.clone().requires_grad_(True)
        p = torch.softmax(model(inputs_embeds=xx, token_type_ids=types).logits, -1)[:, 1]
        torch.autograd.grad(p.sum(), xx)

    step()
    synchronize(device)
    done, start = 0, time.perf_counter()  # the time budget; the rate is `timed`
    with timed() as t:
        while time.perf_counter() - start < seconds or done < 2:
            step()
            done += 1
        synchronize(device)
    rate = done * rows / t["seconds"]
    for p in model.parameters():
        p.requires_grad_(True)
    return {"rows_per_pass": rows, "tokens_per_row": length, "rows_per_s": rate,
            "token_rows_per_s": rate * length, "rows_per_sentence": rows_per_sentence,
            "sentences_per_s": rate / rows_per_sentence}


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
        ids = torch.tensor([e.input_ids], device=loaded.device)
        base = torch.tensor([e.baseline_ids(loaded.tokenizer.pad_token_id)], device=loaded.device)
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
            ids = torch.tensor([e.input_ids, e.baseline_ids(loaded.tokenizer.pad_token_id)],
                               device=loaded.device)
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
    parser.add_argument("--sentences", choices=["first", "short"], default="first")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tools", default="textlens,transformers-interpret,captum")
    parser.add_argument("--out", default=None,
                        help="default bench/results/attribution[_short][_DEVICE].json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, device=args.device)
    texts = sentence_set(args.sentences, args.n)
    tools = {"textlens": lambda t: textlens_ig(loaded, t),
             "transformers-interpret": lambda t: transformers_interpret(loaded, t),
             "captum": lambda t: captum_lig(loaded, t)}
    tools = {k: v for k, v in tools.items() if k in args.tools.split(",")}
    for fn in tools.values():  # warm-up
        fn(texts[:2])
    seconds = dict.fromkeys(tools, 0.0)
    per_round: dict[str, list[float]] = {name: [] for name in tools}
    results: dict[str, list] = {}
    for r in range(args.rounds):
        names = list(tools)
        for name in names[r % len(names):] + names[: r % len(names)]:
            synchronize(loaded.device)
            with timed() as t:
                results[name] = tools[name](texts)
                synchronize(loaded.device)
            took = t["seconds"]
            seconds[name] += took
            per_round[name].append(len(texts) / took)
    seconds = {name: s / args.rounds for name, s in seconds.items()}
    lengths = [len(encode(loaded, t).input_ids) for t in texts]
    report: dict = {"n_sentences": len(texts), "sentences": args.sentences,
                    "words_min_max": [min(len(t.split()) for t in texts),
                                      max(len(t.split()) for t in texts)],
                    "tokens_mean": float(np.mean(lengths)), "threads": args.threads,
                    "device": str(loaded.device), "model": args.model, "rounds": args.rounds,
                    "gpu": (torch.cuda.get_device_name(loaded.device)
                            if loaded.device.type == "cuda" else None),
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
            "steps_mean": float(np.mean([r[2] for r in rows])),
            "sentences_per_s_by_round": per_round[name]}
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
    if "textlens" in results:
        report["ceiling"] = ceiling(loaded, round(float(np.mean(lengths))),
                                    report["tools"]["textlens"]["steps_mean"],
                                    4096 if loaded.device.type == "cpu" else 65536)
        report["textlens_fraction_of_ceiling"] = (
            report["tools"]["textlens"]["sentences_per_s"] / report["ceiling"]["sentences_per_s"])
    print(json.dumps(report, indent=2))
    suffix = ("_short" if args.sentences == "short" else "") + (
        "" if loaded.device.type == "cpu" else f"_{loaded.device.type}")
    record(f"attribution{suffix}", "report", report, path=args.out)


if __name__ == "__main__":
    main()
