"""On-demand attributions for the sample view, computed with `textlens.explain` and cached.

Two kinds: `prediction` (the predicted class, or the predicted span for QA, by the method the
sample view picks: integrated gradients unless told, or any registered method that needs no
gold label) and `loss` (the seeds' sample loss analysis: attribution of the loss against the
gold label or answer, by the `loss` method). The model is the one the run was analysed with
(`run_info.model`) unless the server was started with `--model`; it is loaded once and
explanations run one at a time (a forward and backward pass already uses both cores). Results
are cached in the run's `explanation_cache` table under the model's fingerprint, per (sample,
kind, method): the method rides in the `kind` column as `prediction:lrp` (IG's rows keep the
plain `prediction` written before the picker existed), so a second look costs one read.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from textlens.errors import InputError, ModelError, NotFoundError
from textlens.serve.runs import Run

KINDS = ("prediction", "loss")
DEFAULT_METHOD = {"prediction": "ig", "loss": "loss"}
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def availability(run: Run, override: str | None) -> tuple[bool, str | None]:
    """Whether explanations can be computed for this run, and if not, how to make them so."""
    try:
        model_source(run, override)
    except ModelError as exc:
        return False, (f"{exc.problem} Explanations need the model: restart with "
                       f"`textlens serve {run.path} --model DIR`.")
    return True, None


def methods() -> list[dict[str, str]]:
    """The methods the picker offers for `prediction`: every registered one that needs no gold."""
    from textlens.attribution.registry import get_method_class, list_methods

    return [{"name": name, "description": text} for name, text in list_methods().items()
            if not get_method_class(name).needs_gold]


def check_request(run: Run, sample_id: str, kind: str, method: str | None = None) -> str:
    """The canonical method to run; refuses an unknown kind, sample or method, a gold-needing
    method for `prediction`, any method but `loss` for `loss`, and a method whose optional extra
    is missing (its one-paragraph message, before any model is loaded)."""
    if kind not in KINDS:
        raise InputError(f"Unknown explanation kind '{kind[:40]}'.", f"use one of: {', '.join(KINDS)}.")
    if sample_id not in run.positions:
        raise NotFoundError(f"No sample '{sample_id[:200]}' in run '{run.name}'.",
                            "pick a sample on the map.")
    if method is None:
        return DEFAULT_METHOD[kind]
    from textlens.attribution.registry import canonical_name, get_method

    name = canonical_name(method[:40])
    offered = [m["name"] for m in methods()]
    if kind == "loss" and name != "loss":
        raise InputError(f"The loss is explained by method 'loss', not '{name}'.",
                         "leave `method` out for kind 'loss'.")
    if kind == "prediction" and name not in offered:
        raise InputError(f"Method '{name}' explains the loss against the gold label, not the "
                         "prediction.", f"use one of: {', '.join(offered)}, or kind 'loss'.")
    get_method(name)  # a missing optional extra raises its InputError here
    return name


def _cache_kind(kind: str, method: str) -> str:
    return kind if method == DEFAULT_METHOD[kind] else f"{kind}:{method}"


def model_source(run: Run, override: str | None) -> str:
    source = override or run.info.get("model")
    if not source or not Path(str(source)).expanduser().exists():
        raise ModelError(f"The model of run '{run.name}' is not available ({source or 'not recorded'}).",
                         "start `textlens serve` with --model DIR naming the run's model directory.")
    return str(Path(str(source)).expanduser())


def model_key(run: Run, source: str, override: str | None) -> str:
    """The cache key: the fingerprint `analyze` recorded, else one computed from the files."""
    if not override and run.info.get("model_fingerprint"):
        return str(run.info["model_fingerprint"])
    from textlens.store.run_db import fingerprint_model

    key = f"fingerprint:{source}"
    if key not in _MODELS:
        _MODELS[key] = fingerprint_model(source)
    return _MODELS[key]


def _loaded(source: str, task: str) -> Any:
    if source not in _MODELS:
        from textlens.models.loading import load_model

        _MODELS[source] = load_model(source, task=task)  # type: ignore[arg-type]
    return _MODELS[source]


def preload(run: Run, override: str | None = None) -> None:
    """Load the run's model now if it is available (quietly skipped otherwise)."""
    try:
        source = model_source(run, override)
        with _LOCK:
            _loaded(source, run.task)
    except Exception:  # noqa: BLE001 - the first explanation reports the problem properly
        return


def explanation(run: Run, sample_id: str, kind: str, override: str | None = None,
                compute: bool = True, method: str | None = None) -> dict[str, Any] | None:
    """The cached explanation of a sample by `method` (default: ig for the prediction, loss for
    the loss), computed first when `compute` (else None)."""
    method = check_request(run, sample_id, kind, method)
    source = model_source(run, override)
    with _LOCK:  # the fingerprint of an overriding model is computed once
        key = model_key(run, source, override)
    stored = _cache_kind(kind, method)
    memo = run.cache.setdefault("explanations", {})
    if (sample_id, stored, key) not in memo:  # not blocked by a running computation
        cached = run.store.cached_explanation(sample_id, stored, key)
        if cached is not None:
            memo[sample_id, stored, key] = cached
    if (sample_id, stored, key) in memo or not compute:
        return memo.get((sample_id, stored, key))
    with _LOCK:
        if (sample_id, stored, key) not in memo:  # unless computed while we waited
            row = run.samples.iloc[run.positions[sample_id]]
            value = _compute(_loaded(source, run.task), row, kind, run.task, method)
            run.store.cache_explanation(sample_id, stored, key, value)
            memo[sample_id, stored, key] = value
        return memo[sample_id, stored, key]


def _compute(loaded: Any, row: Any, kind: str, task: str, method: str) -> dict[str, Any]:
    """One explanation. A sentence runs on one intra-op thread: measured on the shared 2-core
    machine (load 12), a 20-word IG took 0.22-0.34 CPU-s single-threaded against 1.8-4.9 CPU-s
    with 2 threads (OpenMP threads spin while waiting for a core); QA contexts keep the default."""
    from textlens.attribution.workers import intra_op_threads

    try:
        if task == "qa":
            return _explain(loaded, row, kind, task, method)
        with intra_op_threads(1):
            return _explain(loaded, row, kind, task, method)
    except ModelError as exc:  # the model is here: a method that refuses it (lrp on an
        # unsupported family) is a bad request (400), not the missing-model conflict (409)
        raise InputError(exc.problem, exc.fix) from None


def _explain(loaded: Any, row: Any, kind: str, task: str, method: str) -> dict[str, Any]:
    from textlens.attribution.api import explain

    if task == "qa":
        pair = (str(row["question"]), str(row["context"]))
        answers = None
        if kind == "loss":
            starts, texts = json.loads(row["answer_starts"]), json.loads(row["answers"])
            if not texts:
                raise InputError("This question has no gold answer to explain the loss of.",
                                 "explain the prediction instead.")
            answers = [(int(starts[0]), int(starts[0]) + len(texts[0]))]
        [exp] = explain([pair], model=loaded, method=method, answers=answers, progress=False)
        data = exp.to_dict()
        parts = [p for p in (data.get("start"), data.get("end")) if p]
        for field in ("completeness_error", "conservation_error"):  # the worse of start and end
            values = [p[field] for p in parts if p[field] is not None]
            data[field] = max(values, default=None)
        return {"kind": kind, "task": task, **data}
    labels = None
    if kind == "loss":
        labels = [int(row["label_index"])]
    [exp] = explain([str(row["text"])], model=loaded, method=method, labels=labels, truncate=True,
                    workers=1, progress=False)
    return {"kind": kind, "task": task, **exp.to_dict()}
