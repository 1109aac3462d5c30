"""`explain`: attribute a batch of texts (or QA pairs) in one call.

Pipeline: encode (a long QA context: pick one window, `qa_windows`) -> prediction passes over
the texts sorted by length -> resolve targets -> chunks of jobs sorted by length go to the
method on worker threads -> aggregate into Explanation values.
Rows of different lengths are right-padded with an attention mask (which changes no row's
output). How many rows a pass holds and how much padding it may carry are chosen by device
(`workers.batching_for`): on a CPU padding costs its full compute, so rows within 8% of length;
on an accelerator every text of the call shares each IG round's passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from textlens.attribution.aggregate import AGGREGATIONS, Aggregation, char_scores, word_scores
from textlens.attribution.baseline import with_baselines
from textlens.attribution.encoding import Encoded, encode, encode_windows
from textlens.attribution.explanation import Explanation, MultiExplanation, QAExplanation
from textlens.attribution.qa_windows import (
    WindowChoice,
    choose_window,
    gold_missing,
    gold_token_span,
    window_prediction,
)
from textlens.attribution.registry import Job, RawAttribution, get_method
from textlens.attribution.runner import Runner, frozen, pad_rows
from textlens.attribution.targets import (
    Score,
    Target,
    check_request,
    classification_targets,
    qa_targets,
)
from textlens.attribution.workers import batching_for, even_chunks, map_chunks
from textlens.choices import check_choice
from textlens.errors import InputError
from textlens.models.heads import HeadKind, class_names, head_kind, prediction, probabilities
from textlens.models.loading import LoadedModel, ensure_loaded
from textlens.models.qa import QAWindowing, qa_windowing

Result = Explanation | QAExplanation | MultiExplanation


def explain(inputs: Sequence[str] | Sequence[tuple[str, str]] | str,
            model: LoadedModel | str | Path,
            method: str = "ig", target: str | int | None = None, score: Score | None = None,
            labels: Sequence[int] | None = None,
            answers: Sequence[tuple[int, int] | None] | None = None, parts: str = "both",
            aggregation: Aggregation = "sum", truncate: bool = False,
            doc_stride: int | None = None, max_tokens_per_pass: int | None = None,
            jobs_per_chunk: int | None = None, workers: int | None = None,
            pad_slack: float | None = None, progress: bool = True,
            **method_options: Any) -> list[Result]:
    """Explain each input's prediction; one value per input, in input order. `model` is a
    model directory, a hub id (with a network) or a `LoadedModel`.

    Classification: `inputs` are texts; `target` is "predicted" (default), a class name or
    index, or "top-k"; `score` "probability" (default) or "logit". The probability follows the
    head (`models.heads`): a softmax over classes, a sigmoid per class for multi-label, and
    for one logit z two classes, 1: sigmoid(z) and 0: "not NAME", 1 - sigmoid(z) ("predicted"
    by the sign of z); a regression head explains its raw output (`score="logit"`). QA: `inputs` are
    (question, context) pairs; `target` "predicted" (default) or "gold" span; `parts` start,
    end or both; `score` "logit" (default) or "probability". `method="loss"` explains the loss
    against `labels` / `answers` (character spans in the context). Method options such as
    `steps`, `tolerance`, `rule` pass through (see `list_methods()`). A QA context longer than
    the model takes is read in windows as the model was trained (`QAWindowing`; `doc_stride`
    overrides the tokens they share), and the window holding the explained span is explained.
    Batching (defaults by device, `workers.batching_for`): chunks of about `jobs_per_chunk`
    texts sorted by length run on `workers` threads (CPU: one per thread torch may use, each
    single-threaded); each IG round of a chunk runs all its pending rows in passes of
    `max_tokens_per_pass` tokens whose rows differ in length by at most `pad_slack` (padded
    with a mask)."""
    model = ensure_loaded(model)
    algo = get_method(method, **method_options)
    check_choice("aggregation", aggregation, AGGREGATIONS)
    head = _head(model)
    check_request(model.task, model.label_names, target, score, parts, head)
    windows = qa_windowing(model, stride=doc_stride) if model.task == "qa" else None
    if isinstance(inputs, str) or (model.task == "qa" and _is_pair(inputs)):
        inputs = [inputs]  # type: ignore[list-item]
    is_loss = algo.needs_gold
    if is_loss and head == "regression":
        raise InputError("Loss attribution needs a class to score; a regression head has none.",
                         'explain its raw output instead: method="ig", score="logit".')
    if is_loss and labels is None and answers is None:
        raise InputError("Loss attribution needs the ground truth.",
                         "pass labels=[...] (classification) or answers=[...] (QA).")
    batching = batching_for(model.device, max_tokens_per_pass, jobs_per_chunk, pad_slack,
                            workers)
    runner = Runner(model, batching.max_tokens_per_pass, batching.pad_slack)
    _check_gold(len(inputs), labels, answers)
    chosen = [_encode(model, item, truncate, runner, target, is_loss,
                      None if answers is None else answers[i], windows)
              for i, item in enumerate(inputs)]
    encoded = [c.encoded for c in chosen]
    embeds = [runner.embed(e.input_ids) for e in encoded]
    types = [runner.embed_types(e.token_type_ids) for e in encoded]
    # A long context's chosen window was already run while choosing it.
    predictions = {i: c.outputs for i, c in enumerate(chosen) if c.outputs is not None}
    pending = [i for i in range(len(encoded)) if i not in predictions]
    with frozen(model.model):
        order = sorted(pending, key=lambda i: -len(encoded[i]))
        for sl in runner.pass_slices(np.array([len(encoded[i]) for i in order])):
            members = order[sl]
            raw = runner.raw(*pad_rows([embeds[i] for i in members], [types[i] for i in members]))
            for r, i in enumerate(members):
                predictions[i] = {k: v[r, :len(encoded[i])] if k != "logits" else v[r]
                                  for k, v in ((k, v.numpy()) for k, v in raw.items())}
        jobs: list[Job] = []
        owner: list[int] = []
        for i, e in enumerate(encoded):
            for t in _targets(model, e, predictions[i], target, score, parts, is_loss,
                              None if labels is None else labels[i],
                              None if answers is None else answers[i]):
                jobs.append(Job(e, t, embeds[i], types[i], e.baseline_ids(runner.pad_id)))
                owner.append(i)
        chunks = even_chunks([len(job.encoded) for job in jobs], batching.jobs_per_chunk,
                             batching.workers)
        # Workers share the model; it is frozen for the whole block, so their own `frozen`
        # blocks (in Runner.gradients) find nothing to change and cannot race.
        done = map_chunks(lambda chunk: algo.attribute(runner, [jobs[j] for j in chunk]), chunks,
                          batching.workers, f"Explaining ({algo.name})" if progress else None)
        results: list[RawAttribution | None] = [None] * len(jobs)
        for chunk, raws in zip(chunks, done, strict=True):
            for j, raw_attr in zip(chunk, raws, strict=True):
                results[j] = raw_attr
        results = with_baselines(runner, jobs, results)  # type: ignore[arg-type]
    by_input: list[list[Explanation]] = [[] for _ in encoded]
    for j, job in enumerate(jobs):
        by_input[owner[j]].append(_explanation(model, job, results[j], predictions[owner[j]],
                                               algo.name, aggregation))
    return [_assemble(model, chosen[i], by_input[i], predictions[i], algo.name,
                      None if answers is None else answers[i]) for i in range(len(encoded))]


def _head(model: LoadedModel) -> HeadKind:
    return head_kind(model.model.config) if model.task == "classification" else "softmax"


def _is_pair(inputs: Any) -> bool:
    return isinstance(inputs, tuple) and len(inputs) == 2 and all(isinstance(x, str)
                                                                   for x in inputs)


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
        gold = _wants_gold(target, is_loss)
        if gold and answer is None and len(encoded) > 1:
            raise _gold_needed()
        return choose_window(runner, encoded, answer if gold else None)
    return WindowChoice(encode(model, item, truncate=truncate))


def _wants_gold(target: str | int | None, is_loss: bool) -> bool:
    return is_loss or target == "gold"


def _gold_needed() -> InputError:
    return InputError("The gold span is needed here.",
                      "pass answers=[(start_char, end_char), ...] in the context.")


def _check_gold(n: int, labels: Sequence[int] | None, answers: Sequence | None) -> None:
    for name, gold in (("labels", labels), ("answers", answers)):
        if gold is not None and len(gold) != n:
            raise InputError(f"{len(gold)} {name} for {n} inputs.", f"pass one of {name} each.")


def _qa_prediction(e: Encoded, pred: dict[str, np.ndarray]):
    found = window_prediction(e, pred["start_logits"], pred["end_logits"])
    if found is None:
        raise InputError("The model found no answer span in the context.")
    return found


def _targets(model: LoadedModel, e: Encoded, pred: dict[str, np.ndarray],
             target: str | int | None, score: Score | None, parts: str, is_loss: bool,
             label: int | None, answer: tuple[int, int] | None) -> list[Target]:
    if model.task == "classification":
        head = _head(model)
        probs = probabilities(pred["logits"], head)
        names = class_names(head, model.label_names)
        if is_loss:
            if label is None:
                raise InputError("Loss attribution needs a gold label for every text.")
            return classification_targets(int(label), probs, names, "loss", head)
        default: Score = "logit" if head == "regression" else "probability"
        return classification_targets(target, probs, names, score or default, head)
    which = "gold" if _wants_gold(target, is_loss) else "predicted"
    if which == "gold":
        if answer is None:
            raise _gold_needed()
        span = gold_token_span(e, answer)
        if span is None:
            raise gold_missing(answer)
        start, end = span
    else:
        if target not in (None, "predicted"):
            raise InputError(f"Unknown QA target '{target}'.", "use predicted or gold.")
        best, _ = _qa_prediction(e, pred)
        start, end = best.start_token, best.end_token
    return qa_targets(start, end, parts, "loss" if is_loss else (score or "logit"), which)


def _explanation(model: LoadedModel, job: Job, raw: RawAttribution | None,
                 pred: dict[str, np.ndarray], method: str, how: Aggregation) -> Explanation:
    assert raw is not None
    e = job.encoded
    scores = tuple(float(v) for v in raw.scores)
    words, spans, w_scores = word_scores(e, scores, how)
    qa = model.task == "qa"
    if qa:
        best, conf = _qa_prediction(e, pred)
        label = best.text
    else:
        _, label, conf = prediction(pred["logits"], _head(model), model.label_names)
    return Explanation(
        text=e.texts[-1], question=e.texts[0] if qa else None, tokens=e.tokens,
        offsets=e.offsets, segments=e.segments, scores=scores, words=words, word_spans=spans,
        word_scores=w_scores, char_scores=char_scores(e, scores, len(e.texts) - 1),
        question_char_scores=char_scores(e, scores, 0) if qa else None,
        target=job.target.name, target_index=job.target.index, label=label, confidence=conf,
        method=method, steps=raw.steps, completeness_error=raw.completeness_error,
        output=raw.output, baseline_output=raw.baseline_output, aggregation=how,
        truncated=e.truncated)


def _assemble(model: LoadedModel, choice: WindowChoice, parts: list[Explanation],
              pred: dict[str, np.ndarray], method: str,
              answer: tuple[int, int] | None) -> Result:
    if model.task != "qa":
        return parts[0] if len(parts) == 1 else MultiExplanation(tuple(parts))
    e = choice.encoded
    if choice.best is not None and choice.confidence is not None:
        # A long context: the answer is the best over all windows (as `predict_qa` gives it),
        # even when the explained window is the gold span's.
        best, conf = choice.best, choice.confidence
        parts = [replace(p, label=best.text, confidence=conf) for p in parts]
    else:
        best, conf = _qa_prediction(e, pred)
    start = next((p for p in parts if p.target.startswith("start")), None)
    end = next((p for p in parts if p.target.startswith("end")), None)
    return QAExplanation(e.texts[0], e.texts[1], best.text, (best.start_char, best.end_char),
                         None if answer is None else (int(answer[0]), int(answer[1])), conf,
                         method, start, end, window=choice.window, window_index=e.window,
                         windows=e.windows)
