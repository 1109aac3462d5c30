"""Training budgets on this machine: SST-2 accuracy and QA EM/F1 against wall-clock seconds;
and (`--compare-bare`) textlens's training loop against a bare Hugging Face loop with the same
recipe, seconds per step, interleaved rounds.

Run on a quiet machine (nothing else on the cores):
    TEXTLENS_DATA=../shared/data .venv/bin/python bench/training.py --task classification
    TEXTLENS_DATA=../shared/data .venv/bin/python bench/training.py --task qa
    TEXTLENS_DATA=../shared/data .venv/bin/python bench/training.py --task classification \
        --compare-bare --steps 20 --rounds 2 [--device cuda] [--precision bf16]
Results are recorded (bench/common.py) under one key a configuration in
bench/results/training.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import record, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["classification", "qa"], required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="keep the model here")
    parser.add_argument("--compare-bare", action="store_true",
                        help="time textlens's loop against a bare Hugging Face loop")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    args = parser.parse_args()
    if args.compare_bare:
        compare_bare(args)
        return

    import torch

    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification, train_qa

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp()) / "model"
    with timed() as total:
        if args.task == "classification":
            config = TrainConfig(args.steps or 400, 32, 5e-5, 64, seed=0)
            trained = train_classification(load_dataset("sst2", "train"),
                                           load_dataset("sst2", "validation"), out, config)
            headline = {"validation_accuracy": trained["metrics"]["accuracy"],
                        "validation_macro_f1": trained["metrics"]["macro_f1"]}
        else:
            config = TrainConfig(args.steps or 312, 16, 1e-4, 256, seed=0)
            trained = train_qa(load_dataset("squad", "train"),
                               load_dataset("squad", "validation"), out, config, stride=128)
            m = trained["metrics"]
            headline = {"exact_match": m["exact_match"], "f1": m["f1"],
                        "exact_match_stripped": m["stripped"]["exact_match"],
                        "f1_stripped": m["stripped"]["f1"], "validation_questions": m["n"]}
    result = {
        "config": {k: trained[k] for k in ("max_steps", "batch_size", "lr", "max_length",
                                           "seed")},
        "train_seconds": trained["seconds"],
        "total_seconds_with_evaluation": round(total["seconds"], 1),
        **headline,
        "threads": args.threads,
    }
    record("training", f"{args.task}_{trained['max_steps']}_steps", result)
    print(json.dumps(result, indent=2))


def _recipe(task: str, steps: int | None, precision: str):
    from textlens.training import TrainConfig
    from textlens.training.qa import CPU_QA_RECIPE

    if task == "classification":
        return TrainConfig(steps or 400, 32, 5e-5, 64, seed=0, precision=precision)
    return CPU_QA_RECIPE.config(seed=0, max_steps=steps, precision=precision)


def bare_loop(task: str, config, device: str, stride: int = 128) -> float:
    """Seconds per step of the loop the Hugging Face course teaches, with the same recipe
    (model, data order, batch size, AdamW groups, warm-up + linear decay, clipping)."""
    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

    from textlens.config import seed_everything
    from textlens.data import load_dataset
    from textlens.models.loading import new_model
    from textlens.models.qa import encode_qa

    seed_everything(config.seed)
    if task == "classification":
        train = load_dataset("sst2", "train")
        loaded = new_model("classification", None, train.label_names, device)
        order = np.random.default_rng(config.seed).permutation(len(train))
        order = order[: config.max_steps * config.batch_size]
        enc = loaded.tokenizer([train[int(i)].text for i in order], truncation=True,
                               max_length=config.max_length)
        rows = [{"input_ids": enc["input_ids"][k], "attention_mask": enc["attention_mask"][k],
                 "token_type_ids": enc["token_type_ids"][k],
                 "labels": int(train[int(i)].label)} for k, i in enumerate(order)]
    else:
        loaded = new_model("qa", None, (), device)
        feats = encode_qa(loaded.tokenizer, list(load_dataset("squad", "train")),
                          config.max_length, stride)
        order = np.random.default_rng(config.seed).permutation(len(feats.input_ids))
        rows = [{"input_ids": feats.input_ids[i], "attention_mask": feats.attention_mask[i],
                 "token_type_ids": feats.token_type_ids[i],
                 "start_positions": feats.start_positions[i],
                 "end_positions": feats.end_positions[i]} for i in order]
    model = loaded.model
    loader = torch.utils.data.DataLoader(rows, batch_size=config.batch_size, shuffle=False,
                                         collate_fn=DataCollatorWithPadding(loaded.tokenizer))
    no_decay = ("bias", "LayerNorm.weight")
    groups = [{"params": [p for n, p in model.named_parameters()
                          if not any(k in n for k in no_decay)],
               "weight_decay": config.weight_decay},
              {"params": [p for n, p in model.named_parameters()
                          if any(k in n for k in no_decay)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, max(1, int(config.max_steps * config.warmup_ratio)), config.max_steps)
    model.train()
    autocast = torch.autocast(loaded.device.type, dtype=torch.bfloat16,
                              enabled=config.precision == "bf16")
    if config.precision == "tf32":
        torch.set_float32_matmul_precision("high")
    with timed() as t:
        for step, batch in enumerate(loader):
            if step == config.max_steps:
                break
            batch = {k: v.to(loaded.device) for k, v in batch.items()}
            with autocast:
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            float(loss.detach())  # what a logging loop reads each step (and a GPU sync)
    seconds = t["seconds"]
    torch.set_float32_matmul_precision("highest")
    return seconds / config.max_steps


def textlens_loop(task: str, config, device: str, stride: int = 128) -> float:
    """Seconds per step of `textlens.training` (its loop's own clock: no evaluation, no save)."""
    from textlens.data import load_dataset
    from textlens.training import train_classification, train_qa

    out = Path(tempfile.mkdtemp()) / "model"
    if task == "classification":
        trained = train_classification(load_dataset("sst2", "train"), None, out, config,
                                       device=device)
    else:
        trained = train_qa(load_dataset("squad", "train"), None, out, config, device=device,
                           stride=stride)
    return trained["seconds"] / config.max_steps


def compare_bare(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    config = _recipe(args.task, args.steps or 20, args.precision)
    runs: dict[str, list[float]] = {"textlens": [], "bare": []}
    for r in range(args.rounds):
        names = ["textlens", "bare"] if r % 2 == 0 else ["bare", "textlens"]
        for name in names:
            fn = textlens_loop if name == "textlens" else bare_loop
            runs[name].append(fn(args.task, config, args.device))
    mean = {k: sum(v) / len(v) for k, v in runs.items()}
    result = {
        "config": {k: getattr(config, k) for k in ("max_steps", "batch_size", "lr", "max_length",
                                                   "precision")},
        "seconds_per_step": mean, "seconds_per_step_by_round": runs,
        "ratio_textlens_over_bare": mean["textlens"] / mean["bare"],
        "device": args.device, "threads": args.threads, "rounds": args.rounds,
    }
    record("training", f"loop_vs_bare_{args.task}_{args.device}_{args.precision}_"
                       f"{args.threads}threads", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
