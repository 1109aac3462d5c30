"""`explain`: attribute a batch of texts (or QA pairs) in one call.

Named steps (`steps.py`), each returning a frozen value: options checked once
(`ExplainOptions.check_for` -> `Plan`) -> encode -> predict -> jobs -> attribute -> assemble
into Explanation values here. Rows of different lengths are right-padded with an attention mask
(which changes no row's output). How many rows a pass holds and how much padding it may carry
are chosen by device (`workers.batching_for`): on a CPU padding costs its full compute, so rows
within 8% of length; on an accelerator every text of the call shares each IG round's passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textlens.attribution.aggregate import Aggregation, char_scores, word_scores
from textlens.attribution.explanation import Explanation, MultiExplanation, QAExplanation
from textlens.attribution.options import ExplainOptions, Gold, Plan
from textlens.attribution.qa_windows import WindowChoice
from textlens.attribution.registry import Job, RawAttribution
from textlens.attribution.runner import Runner, frozen
from textlens.attribution.steps import (
    Outputs,
    attribute_step,
    encode_step,
    folds_prediction,
    jobs_step,
    predict_attribute_step,
    predict_step,
    qa_prediction,
)
from textlens.attribution.targets import Score
from textlens.models.heads import prediction
from textlens.models.loading import LoadedModel, ensure_loaded

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
    index, or "top-k"; `score` "probability" (default; `lrp`: "logit") or "logit". The
    probability follows the head (`models.heads`): a softmax over classes, a sigmoid per class
    for multi-label, and for one logit z two classes, 1: sigmoid(z) and 0: "not NAME",
    1 - sigmoid(z) ("predicted" by the sign of z); a regression head explains its raw output
    (`score="logit"`). QA: `inputs` are (question, context) pairs; `target` "predicted"
    (default) or "gold" span; `parts` start, end or both; `score` "logit" (default) or
    "probability". `method="loss"` explains the loss against `labels` / `answers` (character
    spans in the context). Method options such as `steps`, `tolerance`, `max_evals`, `seed`
    pass through (see `list_methods()`). A QA context longer than the model takes is read in
    windows as the model was trained (`QAWindowing`; `doc_stride` overrides the tokens they
    share), and the window holding the explained span is explained. Batching (defaults by
    device, `workers.batching_for`): chunks of about `jobs_per_chunk` texts sorted by length
    run on `workers` threads (CPU: one per thread torch may use, each single-threaded); each IG
    round of a chunk runs all its pending rows in passes of `max_tokens_per_pass` tokens whose
    rows differ in length by at most `pad_slack` (padded with a mask)."""
    options = ExplainOptions(method, target, score, parts, aggregation, truncate, doc_stride,
                             max_tokens_per_pass, jobs_per_chunk, workers, pad_slack, progress,
                             method_options)
    return run(inputs, model, options, Gold(labels, answers))


def run(inputs: Sequence[str] | Sequence[tuple[str, str]] | str, model: LoadedModel | str | Path,
        options: ExplainOptions, gold: Gold | None = None) -> list[Result]:
    """`explain` with its options as one value."""
    model = ensure_loaded(model)
    plan = options.check_for(model)
    gold = gold or Gold()
    if isinstance(inputs, str) or (model.task == "qa" and _is_pair(inputs)):
        inputs = [inputs]  # type: ignore[list-item]
    gold.check(len(inputs), plan)
    runner = Runner(model, plan.batching.max_tokens_per_pass, plan.batching.pad_slack)
    enc = encode_step(model, inputs, plan, gold, runner)
    with frozen(model.model):
        if folds_prediction(model, plan):
            preds, jobs, raws = predict_attribute_step(model, plan, gold, runner, enc)
        else:
            preds = predict_step(runner, enc)
            jobs = jobs_step(model, plan, gold, enc, preds, runner.pad_id)
            raws = attribute_step(plan, runner, jobs)
    by_input: list[list[Explanation]] = [[] for _ in enc.chosen]
    for job, owner, raw in zip(jobs.jobs, jobs.owner, raws, strict=True):
        by_input[owner].append(_explanation(model, plan, job, raw, preds.outputs[owner]))
    return [_assemble(model, choice, by_input[i], preds.outputs[i], plan.method.name,
                      gold.answer(i)) for i, choice in enumerate(enc.chosen)]


def _is_pair(inputs: Any) -> bool:
    return isinstance(inputs, tuple) and len(inputs) == 2 and all(isinstance(x, str)
                                                                   for x in inputs)


def _explanation(model: LoadedModel, plan: Plan, job: Job, raw: RawAttribution,
                 pred: Outputs) -> Explanation:
    e = job.encoded
    scores = tuple(float(v) for v in raw.scores)
    how = plan.options.aggregation
    words, spans, w_scores = word_scores(e, scores, how)
    qa = model.task == "qa"
    if qa:
        best, conf = qa_prediction(e, pred)
        label = best.text
    else:
        _, label, conf = prediction(pred["logits"], plan.head, model.label_names)
    return Explanation(
        text=e.texts[-1], question=e.texts[0] if qa else None, tokens=e.tokens,
        offsets=e.offsets, segments=e.segments, scores=scores, words=words, word_spans=spans,
        word_scores=w_scores, char_scores=char_scores(e, scores, len(e.texts) - 1),
        question_char_scores=char_scores(e, scores, 0) if qa else None,
        target=job.target.name, target_index=job.target.index, label=label, confidence=conf,
        method=plan.method.name, steps=raw.steps, completeness_error=raw.completeness_error,
        output=raw.output, baseline_output=raw.baseline_output, aggregation=how,
        truncated=e.truncated, absorbed=raw.absorbed)


def _assemble(model: LoadedModel, choice: WindowChoice, parts: list[Explanation],
              pred: Outputs, method: str, answer: tuple[int, int] | None) -> Result:
    if model.task != "qa":
        return parts[0] if len(parts) == 1 else MultiExplanation(tuple(parts))
    e = choice.encoded
    if choice.best is not None and choice.confidence is not None:
        # A long context: the answer is the best over all windows (as `predict_qa` gives it),
        # even when the explained window is the gold span's.
        best, conf = choice.best, choice.confidence
        parts = [replace(p, label=best.text, confidence=conf) for p in parts]
    else:
        best, conf = qa_prediction(e, pred)
    start = next((p for p in parts if p.target.startswith("start")), None)
    end = next((p for p in parts if p.target.startswith("end")), None)
    return QAExplanation(e.texts[0], e.texts[1], best.text, (best.start_char, best.end_char),
                         None if answer is None else (int(answer[0]), int(answer[1])), conf,
                         method, start, end, window=choice.window, window_index=e.window,
                         windows=e.windows)
