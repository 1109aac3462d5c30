"""The steps of `explain`, each returning a frozen value: encode (a long QA context: pick one
window, `qa_windows`) -> predict (passes over the texts sorted by length) -> jobs (targets
resolved per input) -> attribute (chunks of jobs sorted by length on worker threads, then every
job's F(input) and F(baseline), `baseline.with_baselines`). `api.explain` assembles the results.
A method that can read the prediction off its own forward (`attribute_predicting`: lrp, whose
rules change only the backward) runs predict, jobs and attribute as one step
(`predict_attribute_step`) where each text has one target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.attribution.baseline import with_baselines
from textlens.attribution.encoding import Encoded, encode, encode_windows
from textlens.attribution.options import Gold, Plan
from textlens.attribution.qa_windows import (
    WindowChoice,
    choose_window,
    gold_missing,
    gold_token_span,
    window_prediction,
)
from textlens.attribution.registry import Job, RawAttribution
from textlens.attribution.runner import Runner, pad_rows
from textlens.attribution.targets import (
    Score,
    Target,
    classification_targets,
    qa_targets,
)
from textlens.attribution.workers import even_chunks, map_chunks
from textlens.errors import InputError
from textlens.models.heads import class_names, probabilities
from textlens.models.loading import LoadedModel
from textlens.models.qa import QAWindowing, qa_windowing

if TYPE_CHECKING:
    import torch

Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Encodings:
    """Each input's chosen encoding, with its word embeddings and token types on the device."""

    chosen: tuple[WindowChoice, ...]
    embeds: tuple[torch.Tensor, ...]
    types: tuple[torch.Tensor, ...]

    @property
    def encoded(self) -> tuple[Encoded, ...]:
        return tuple(c.encoded for c in self.chosen)


@dataclass(frozen=True)
class Predictions:
    """Each input's head outputs (logits, or start/end logits per token)."""

    outputs: tuple[Outputs, ...]


@dataclass(frozen=True)
class Jobs:
    """The (input, target) pairs to attribute, and which input each belongs to."""

    jobs: tuple[Job, ...]
    owner: tuple[int, ...]


def encode_step(model: LoadedModel, inputs: Sequence[Any], plan: Plan, gold: Gold,
                runner: Runner) -> Encodings:
    chosen = tuple(_encode(model, item, plan.options.truncate, runner, plan.options.target,
                           plan.is_loss, gold.answer(i), plan.windows)
                   for i, item in enumerate(inputs))
    return Encodings(chosen, tuple(runner.embed(c.encoded.input_ids) for c in chosen),
                     tuple(runner.embed_types(c.encoded.token_type_ids) for c in chosen))


def predict_step(runner: Runner, enc: Encodings) -> Predictions:
    """Head outputs of every input; a long context's chosen window was already run while
    choosing it. Call inside `frozen(model)`."""
    encoded = enc.encoded
    predictions = {i: c.outputs for i, c in enumerate(enc.chosen) if c.outputs is not None}
    order = sorted((i for i in range(len(encoded)) if i not in predictions),
                   key=lambda i: -len(encoded[i]))
    for sl in runner.pass_slices(np.array([len(encoded[i]) for i in order])):
        members = order[sl]
        raw = runner.raw(*pad_rows([enc.embeds[i] for i in members],
                                   [enc.types[i] for i in members]))
        for r, i in enumerate(members):
            predictions[i] = {k: v[r, :len(encoded[i])] if k != "logits" else v[r]
                              for k, v in ((k, v.numpy()) for k, v in raw.items())}
    return Predictions(tuple(predictions[i] for i in range(len(encoded))))


def jobs_step(model: LoadedModel, plan: Plan, gold: Gold, enc: Encodings, preds: Predictions,
              pad_id: int) -> Jobs:
    jobs: list[Job] = []
    owner: list[int] = []
    for i, e in enumerate(enc.encoded):
        for t in targets_for(model, plan, e, preds.outputs[i], gold.label(i), gold.answer(i)):
            jobs.append(Job(e, t, enc.embeds[i], enc.types[i], e.baseline_ids(pad_id)))
            owner.append(i)
    return Jobs(tuple(jobs), tuple(owner))


def attribute_step(plan: Plan, runner: Runner, jobs: Jobs) -> tuple[RawAttribution, ...]:
    """Every job's attribution, in job order. Call inside `frozen(model)`: workers share the
    model, and their own `frozen` blocks (in Runner.gradients) then find nothing to change and
    cannot race."""
    algo, batching = plan.method, plan.batching
    chunks = even_chunks([len(job.encoded) for job in jobs.jobs], batching.jobs_per_chunk,
                         batching.workers)
    done = map_chunks(lambda chunk: algo.attribute(runner, [jobs.jobs[j] for j in chunk]),
                      chunks, batching.workers,
                      f"Explaining ({algo.name})" if plan.options.progress else None)
    results: list[RawAttribution | None] = [None] * len(jobs.jobs)
    for chunk, raws in zip(chunks, done, strict=True):
        for j, raw_attr in zip(chunk, raws, strict=True):
            results[j] = raw_attr
    return tuple(with_baselines(runner, jobs.jobs, results))  # type: ignore[arg-type]


def folds_prediction(model: LoadedModel, plan: Plan) -> bool:
    """Whether `predict_attribute_step` applies: a classifier, a method with
    `attribute_predicting`, one target a text (not top-k), not the loss."""
    target = plan.options.target
    return (model.task == "classification" and hasattr(plan.method, "attribute_predicting")
            and not plan.is_loss and not (isinstance(target, str) and target.startswith("top-")))


def predict_attribute_step(model: LoadedModel, plan: Plan, gold: Gold, runner: Runner,
                           enc: Encodings) -> tuple[Predictions, Jobs, tuple[RawAttribution, ...]]:
    """predict, jobs and attribute in one pass per chunk: the target of each text is resolved
    (`targets_for`) from the outputs of the forward that is then backpropagated. On 30 SST-2
    sentences the separate prediction pass was 0.46 s of lrp's 2.2 s (1 thread, load 9-12).
    Call inside `frozen(model)`."""
    encoded, batching, algo = enc.encoded, plan.batching, plan.method

    def choose(i: int, outputs: Outputs) -> Target:
        [target] = targets_for(model, plan, encoded[i], outputs, gold.label(i), gold.answer(i))
        return target

    chunks = even_chunks([len(e) for e in encoded], batching.jobs_per_chunk, batching.workers)
    done = map_chunks(lambda chunk: algo.attribute_predicting(  # type: ignore[attr-defined]
        runner, [(enc.embeds[i], enc.types[i]) for i in chunk], lambda r, o: choose(chunk[r], o)),
        chunks, batching.workers, f"Explaining ({algo.name})" if plan.options.progress else None)
    found: dict[int, tuple[Outputs, Target, RawAttribution]] = {}
    for chunk, results in zip(chunks, done, strict=True):
        found.update(zip(chunk, results, strict=True))
    order = range(len(encoded))
    jobs = tuple(Job(encoded[i], found[i][1], enc.embeds[i], enc.types[i],
                     encoded[i].baseline_ids(runner.pad_id)) for i in order)
    raws = with_baselines(runner, jobs, [found[i][2] for i in order])
    return (Predictions(tuple(found[i][0] for i in order)), Jobs(jobs, tuple(order)),
            tuple(raws))


def _encode(model: LoadedModel, item: Any, truncate: bool, runner: Runner,
            target: str | int | None = None, is_loss: bool = False,
            answer: tuple[int, int] | None = None,
            windows: QAWindowing | None = None) -> WindowChoice:
    """The input to explain. A QA pair longer than the model takes is split into windows and
    the one holding the explained span is chosen (so `truncate` only matters for texts)."""
    if model.task == "qa":
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise InputError("A QA model explains (question, context) pairs.",
                             "pass inputs=[(question, context), ...].")
        windows = windows or qa_windowing(model)
        encoded = encode_windows(model, item[1], item[0], windows.stride, windows.max_length)
        gold = wants_gold(target, is_loss)
        if gold and answer is None and len(encoded) > 1:
            raise gold_needed()
        return choose_window(runner, encoded, answer if gold else None)
    return WindowChoice(encode(model, item, truncate=truncate))


def wants_gold(target: str | int | None, is_loss: bool) -> bool:
    return is_loss or target == "gold"


def gold_needed() -> InputError:
    return InputError("The gold span is needed here.",
                      "pass answers=[(start_char, end_char), ...] in the context.")


def qa_prediction(e: Encoded, pred: Outputs):
    found = window_prediction(e, pred["start_logits"], pred["end_logits"])
    if found is None:
        raise InputError("The model found no answer span in the context.")
    return found


def targets_for(model: LoadedModel, plan: Plan, e: Encoded, pred: Outputs, label: int | None,
                answer: tuple[int, int] | None) -> list[Target]:
    """The targets one input's request resolves to (a class, top-K classes, QA start/end)."""
    target, score, is_loss = plan.options.target, plan.options.score, plan.is_loss
    if model.task == "classification":
        head = plan.head
        probs = probabilities(pred["logits"], head)
        names = class_names(head, model.label_names)
        if is_loss:
            if label is None:
                raise InputError("Loss attribution needs a gold label for every text.")
            return classification_targets(int(label), probs, names, "loss", head)
        default: Score = "logit" if head == "regression" else plan.default_score
        return classification_targets(target, probs, names, score or default, head)
    which = "gold" if wants_gold(target, is_loss) else "predicted"
    if which == "gold":
        if answer is None:
            raise gold_needed()
        span = gold_token_span(e, answer)
        if span is None:
            raise gold_missing(answer)
        start, end = span
    else:
        if target not in (None, "predicted"):
            raise InputError(f"Unknown QA target '{target}'.", "use predicted or gold.")
        best, _ = qa_prediction(e, pred)
        start, end = best.start_token, best.end_token
    return qa_targets(start, end, plan.options.parts, "loss" if is_loss else (score or "logit"),
                      which)
