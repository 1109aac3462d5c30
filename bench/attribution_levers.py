"""Which levers make textlens IG fast on CPU: an ablation on the same sentences, one run.

Levers: worker threads (N single-threaded passes side by side vs one N-threaded pass), the
[CLS]-only last layer (`attribution/cls_fastpath.py`), bf16 (with AMX where the CPU has it)
and `torch.compile`. Speeds are sentences/s of `explain(method="ig")` (adaptive, tolerance 1%)
unless said otherwise; configurations run in interleaved rounds so load hits all alike.

    python bench/attribution_levers.py --n 100 [--compile]
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch
from common import record, timed

from textlens.attribution import explain
from textlens.attribution import runner as runner_module
from textlens.attribution.targets import score_rows
from textlens.data import load_dataset
from textlens.models.loading import load_model


def timed_explain(loaded, texts, workers: int, fast_path: bool) -> tuple[float, list]:
    saved = runner_module.Runner.fast_path
    if not fast_path:
        runner_module.Runner.fast_path = property(lambda self: None)  # type: ignore[assignment]
    try:
        with timed() as t:
            exps = explain(texts, model=loaded, progress=False, workers=workers)
        return t["seconds"], exps
    finally:
        runner_module.Runner.fast_path = saved  # type: ignore[method-assign]


def pass_cost(model, dtype, rows=150, length=26, reps=6) -> float:
    """ms per token of one forward + input-gradient backward over a (rows, length) batch."""
    x = (torch.randn(rows, length, model.config.hidden_size) * 0.05).to(dtype)
    types = torch.zeros(rows, length, dtype=torch.long)

    def step():
        xx = x.clone().requires_grad_(True)
        p = torch.softmax(model(inputs_embeds=xx, token_type_ids=types).logits.float(), -1)[:, 1]
        torch.autograd.grad(p.sum(), xx)

    step()
    with timed() as t:
        for _ in range(reps):
            step()
    return t["seconds"] / reps / (rows * length) * 1000


def bf16_accuracy(loaded, texts) -> dict:
    """IG with every gradient pass in bf16 (eager attention; the sdpa bf16 backward is slow on
    CPU), checked against the float32 F(x) - F(b)."""
    reference = explain(texts, model=loaded, progress=False, workers=1)
    bf = copy.deepcopy(loaded.model).to(torch.bfloat16)
    bf.set_attn_implementation("eager")
    original = runner_module.Runner.gradients

    def gradients(self, embeds, types, targets, mask=None):
        x = embeds.to(torch.bfloat16).requires_grad_(True)
        mask = torch.ones_like(types) if mask is None else mask
        value = score_rows({"logits": bf(inputs_embeds=x, token_type_ids=types,
                                         attention_mask=mask).logits.float()}, targets)
        (grad,) = torch.autograd.grad(value.sum(), x)
        return value.detach(), grad.float()

    runner_module.Runner.gradients = gradients  # type: ignore[method-assign]
    try:
        with timed() as t:
            out = explain(texts, model=loaded, progress=False, workers=1, max_steps=128)
        seconds = t["seconds"]
    finally:
        runner_module.Runner.gradients = original  # type: ignore[method-assign]
    errors = [abs(sum(o.scores) - (r.output - r.baseline_output)) / abs(r.output - r.baseline_output)
              for o, r in zip(out, reference, strict=True)]
    return {"n_sentences": len(texts), "sentences_per_s": len(texts) / seconds,
            "steps_mean": float(np.mean([o.steps for o in out])),
            "completeness_error_vs_fp32_median": float(np.median(errors)),
            "completeness_error_vs_fp32_max": float(np.max(errors)),
            "n_above_1pct": int(sum(e > 0.01 for e in errors))}


def token_accuracy(loaded, texts) -> dict:
    """How far each variant's token scores are from a tight reference (adaptive, tolerance
    0.05%): per sentence max |score - reference| / max |reference|. The completeness certificate
    bounds the sum; this shows what it means for single tokens."""
    reference = explain(texts, model=loaded, progress=False, tolerance=0.0005, max_steps=1024)
    variants = {"adaptive 1%, criterion segments (default)": {},
                "adaptive 1%, criterion total": {"criterion": "total"},
                "fixed 50 Gauss-Legendre (Captum / transformers-interpret rule)": {"steps": 50},
                "fixed 32 Gauss-Legendre": {"steps": 32}}
    out: dict = {"reference_steps_mean": float(np.mean([e.steps for e in reference]))}
    for name, options in variants.items():
        exps = explain(texts, model=loaded, progress=False, **options)
        dev = [np.abs(np.subtract(e.scores, r.scores)).max() / np.abs(r.scores).max()
               for e, r in zip(exps, reference, strict=True)]
        out[name] = {"steps_mean": float(np.mean([e.steps for e in exps])),
                     "n_completeness_above_1pct": int(sum(e.completeness_error > 0.01
                                                          for e in exps)),
                     "token_deviation_median": float(np.median(dev)),
                     "token_deviation_p90": float(np.quantile(dev, 0.9)),
                     "token_deviation_max": float(np.max(dev))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(Path.home() / ".cache/textlens/models/"
                                                "sentiment-minilm"))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--out", default="bench/results/attribution_levers.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, device="cpu")
    texts = [ex.text for ex in load_dataset("sst2", "validation")][: args.n]
    explain(texts[:4], model=loaded, progress=False)  # warm-up
    configs = {"1 worker x 2 threads, full forward": (1, False),
               "2 workers x 1 thread, full forward": (args.threads, False),
               "1 worker x 2 threads, [CLS]-only last layer": (1, True),
               "2 workers x 1 thread, [CLS]-only last layer (default)": (args.threads, True)}
    seconds = dict.fromkeys(configs, 0.0)
    steps: dict[str, float] = {}
    for r in range(args.rounds):
        names = list(configs)
        for name in names[r % len(names):] + names[: r % len(names)]:
            took, exps = timed_explain(loaded, texts, *configs[name])
            seconds[name] += took
            steps[name] = float(np.mean([e.steps for e in exps]))
    report: dict = {
        "n_sentences": len(texts), "threads": args.threads, "rounds": args.rounds,
        "explain_sentences_per_s": {k: args.rounds * len(texts) / v for k, v in seconds.items()},
        "steps_mean": steps}
    model = copy.deepcopy(loaded.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    costs = {"float32 sdpa": pass_cost(model, torch.float32)}
    bf = copy.deepcopy(model).to(torch.bfloat16)
    costs["bfloat16 sdpa"] = pass_cost(bf, torch.bfloat16)
    bf.set_attn_implementation("eager")
    costs["bfloat16 eager attention"] = pass_cost(bf, torch.bfloat16)
    if args.compile:
        with timed() as t:
            compiled = torch.compile(model, dynamic=True)
            costs["float32 torch.compile (dynamic)"] = pass_cost(compiled, torch.float32)
        report["torch_compile_first_call_s"] = t["seconds"]
    report["gradient_pass_ms_per_token"] = costs
    report["bf16_ig"] = bf16_accuracy(loaded, texts[:30])
    report["token_accuracy"] = token_accuracy(loaded, texts)
    print(json.dumps(report, indent=2))
    record("attribution_levers", "report", report, path=args.out)


if __name__ == "__main__":
    main()
