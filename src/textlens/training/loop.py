"""The fine-tuning loop shared by classification and QA: AdamW, warm-up then linear decay,
deterministic batches, and checkpoints that let an interrupted run resume where it stopped.

Checkpoints are safetensors (model weights and the optimizer's moment tensors) plus a JSON
state, never pickles.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textlens.progress import progress_enabled

if TYPE_CHECKING:
    import torch

# fp32: full float32. tf32: float32 weights and optimizer, TF32 matmuls on NVIDIA GPUs (no effect
# on a CPU). bf16: bfloat16 autocast of the forward pass; weights, gradients and optimizer stay
# float32. Neither was measured for accuracy here (no GPU was lent), so fp32 is every default.
Precision = Literal["fp32", "tf32", "bf16"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int
    batch_size: int
    lr: float
    max_length: int
    seed: int = 0
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    checkpoint_every: int = 50
    precision: Precision = "fp32"


@dataclass(frozen=True)
class TrainStats:
    steps: int
    seconds: float
    resumed_from: int
    final_loss: float


def lr_at(step: int, config: TrainConfig) -> float:
    warmup = max(1, int(config.max_steps * config.warmup_ratio))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return config.lr * max(0.0, (config.max_steps - step) / max(1, config.max_steps - warmup))


def train_loop(model: torch.nn.Module, batch_at: Callable[[int], dict[str, torch.Tensor]],
               config: TrainConfig, checkpoint_dir: Path | None,
               description: str = "Training") -> TrainStats:
    """Run `config.max_steps` optimiser steps; `batch_at(step)` must be deterministic."""
    import torch

    decay = [p for n, p in model.named_parameters() if not _no_decay(n)]
    no_decay = [p for n, p in model.named_parameters() if _no_decay(n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    start = _resume(model, optimizer, config, checkpoint_dir)
    model.train()
    started = time.perf_counter()
    loss_value = float("nan")
    device = next(model.parameters()).device
    with _bar(description, config.max_steps, start) as advance, _matmuls(config.precision):
        for step in range(start, config.max_steps):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, config)
            with _autocast(config.precision, device):
                loss = model(**batch_at(step)).loss
            loss.float().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            loss_value = float(loss.detach())
            advance(loss_value)
            done = step + 1
            if checkpoint_dir and done % config.checkpoint_every == 0 and done < config.max_steps:
                _save_checkpoint(model, optimizer, config, checkpoint_dir, done)
    model.eval()
    return TrainStats(config.max_steps, time.perf_counter() - started, start, loss_value)


@contextmanager
def _matmuls(precision: Precision) -> Iterator[None]:
    """TF32 matmuls for `tf32` (restored afterwards: the setting is process-wide)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    before = torch.get_float32_matmul_precision()
    if precision == "tf32":
        torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _autocast(precision: Precision, device: torch.device):
    """bfloat16 autocast for `bf16`; a no-op context otherwise. The same code runs on a CPU
    (where the tests exercise it) and a GPU."""
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def _save_checkpoint(model, optimizer, config: TrainConfig, directory: Path, step: int) -> None:
    from safetensors.torch import save_file

    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, tmp / "model.safetensors")
    moments = {}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, param in enumerate(params):
        for key, value in optimizer.state.get(param, {}).items():
            moments[f"{i}.{key}"] = value.detach().cpu().contiguous().reshape(value.shape)
    save_file(moments, tmp / "optimizer.safetensors")
    save_file(_rng_state(), tmp / "rng.safetensors")  # dropout masks repeat after a resume
    (tmp / "state.json").write_text(json.dumps({"step": step, "config": asdict(config)}))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def saved_config(saved: dict) -> dict:
    """A checkpoint's config with the defaults of fields added since it was written (e.g.
    `precision`), so an older checkpoint of the same recipe resumes instead of being discarded."""
    from dataclasses import MISSING, fields

    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    return {**defaults, **saved}


def _resume(model, optimizer, config: TrainConfig, directory: Path | None) -> int:
    if directory is None or not (directory / "state.json").exists():
        return 0
    from safetensors.torch import load_file

    state = json.loads((directory / "state.json").read_text())
    if saved_config(state.get("config") or {}) != asdict(config):
        import sys

        print(f"The checkpoint in {directory} was made with other settings "
              f"({state.get('config')}); starting afresh.", file=sys.stderr)
        shutil.rmtree(directory, ignore_errors=True)  # different run: start afresh
        return 0
    model.load_state_dict(load_file(directory / "model.safetensors"), strict=False)
    moments = load_file(directory / "optimizer.safetensors")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, param in enumerate(params):
        entry = {k.split(".", 1)[1]: v.to(param.device) for k, v in moments.items()
                 if k.split(".", 1)[0] == str(i)}
        if entry:
            optimizer.state[param] = entry
    if (directory / "rng.safetensors").exists():
        _set_rng_state(load_file(directory / "rng.safetensors"))
    return int(state["step"])


def _rng_state() -> dict[str, torch.Tensor]:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            state[f"cuda{i}"] = cuda_state
    return state


def _set_rng_state(state: dict[str, torch.Tensor]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    cuda = [state[k] for k in sorted(state) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class _bar:
    """A Rich progress bar showing the running loss."""

    def __init__(self, description: str, total: int, completed: int) -> None:
        self.description, self.total, self.completed = description, total, completed

    def __enter__(self) -> Callable[[float], None]:
        if not progress_enabled():
            self.progress = None
            return lambda loss: None
        from rich.progress import TextColumn

        from textlens.progress import progress_bar

        self.progress = progress_bar(TextColumn("loss {task.fields[loss]}"))
        self.progress.start()
        task = self.progress.add_task(self.description, total=self.total,
                                      completed=self.completed, loss="-")
        return lambda loss: self.progress.update(task, advance=1, loss=f"{loss:.3f}")

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
