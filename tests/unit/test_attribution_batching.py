"""Cross-text batching (the accelerator path, run here on the CPU): every IG round of all texts in
as few passes as the budget allows, rows sorted by length and padded with a mask, must give what
explaining each text alone gives: token scores within 1e-4 relative, the same steps, the same
certificate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.attribution import runner as runner_module
from textlens.attribution.runner import Runner
from textlens.attribution.targets import Target
from textlens.attribution.workers import batching_for, even_chunks

TEXTS = ["a gripping, unbelievably good film", "dull", "not bad at all, really",
         "the plot is thin but the acting carries it all the way to a satisfying end", "why?",
         "an utter mess from start to end", "good", "it is neither funny nor moving, sadly"]
ALL_IN_ONE = {"jobs_per_chunk": 10**6, "max_tokens_per_pass": 10**6, "pad_slack": 1.0,
              "workers": 1}
ONE_BY_ONE = {"jobs_per_chunk": 1, "workers": 1}
# One 3-point segment first, then refined: several rounds even on a tiny random model.
REFINED = {"tolerance": 1e-4, "nodes_per_segment": 3, "initial_segments": 1}


@pytest.fixture
def sharp_classifier(tiny_classifier):
    with torch.no_grad():
        tiny_classifier.model.classifier.weight.mul_(40.0)
    return tiny_classifier


def _count_passes(monkeypatch) -> list[tuple[int, int, bool]]:
    """(rows, length, padded) of every gradient pass."""
    passes: list[tuple[int, int, bool]] = []
    original = runner_module.Runner.gradients

    def counting(self, embeds, types, targets, mask=None):
        passes.append((embeds.shape[0], embeds.shape[1], mask is not None))
        return original(self, embeds, types, targets, mask)

    monkeypatch.setattr(runner_module.Runner, "gradients", counting)
    return passes


def _same(alone, together) -> None:
    for a, b in zip(alone, together, strict=True):
        assert a.steps == b.steps
        # Errors are relative to F(x) - F(b): compare them in F units, to float32 noise.
        change = abs(a.output - a.baseline_output)
        assert abs(a.completeness_error - b.completeness_error) * change <= 2e-6
        assert (a.completeness_error <= 0.01) == (b.completeness_error <= 0.01)
        scale = max(np.abs(a.scores).max(), 1e-12)
        assert np.abs(np.subtract(a.scores, b.scores)).max() <= 1e-4 * scale
        assert a.output == pytest.approx(b.output, rel=1e-5)
        assert a.baseline_output == pytest.approx(b.baseline_output, rel=1e-5, abs=1e-7)


def test_cross_text_batching_equals_per_text_classification(sharp_classifier,
                                                            monkeypatch) -> None:
    passes = _count_passes(monkeypatch)
    alone = explain(TEXTS, model=sharp_classifier, progress=False, **REFINED, **ONE_BY_ONE)
    per_text = list(passes)
    passes.clear()
    together = explain(TEXTS, model=sharp_classifier, progress=False, **REFINED, **ALL_IN_ONE)
    assert max(e.steps for e in together) > 3  # refined beyond the first round
    _same(alone, together)
    # Alone: one text a pass, never padded. Together: one pass a round for all texts, padded.
    assert not any(padded for *_, padded in per_text)
    assert len(passes) < len(per_text) / 3
    # Round 1: one 3-point segment each, less the baseline rows of texts whose baseline input
    # and target repeat another's (same length, same class: "dull" and "good" here).
    shared = len(together) - len({(len(e.tokens), e.target_index) for e in together})
    assert shared >= 1
    assert passes[0][0] == 3 * len(TEXTS) - shared
    assert passes[0][1] == max(len(e.tokens) for e in together)


def test_texts_sharing_a_baseline_run_its_row_once(sharp_classifier, monkeypatch) -> None:
    """Same length, same class: one alpha = 0 row serves all of them, and each text's scores
    are what explaining it alone gives."""
    texts = ["good", "fine", "bad", "dull", "grand"]  # one word piece each, 3 tokens with specials
    target = {"target": 0}
    passes = _count_passes(monkeypatch)
    alone = explain(texts, model=sharp_classifier, progress=False, **target, **ONE_BY_ONE)
    assert len({len(e.tokens) for e in alone}) == 1
    rows_alone = sum(rows for rows, *_ in passes)
    passes.clear()
    together = explain(texts, model=sharp_classifier, progress=False, **target, **ALL_IN_ONE)
    _same(alone, together)
    assert sum(rows for rows, *_ in passes) == rows_alone - (len(texts) - 1)


def test_cross_text_batching_equals_per_text_qa(tiny_qa) -> None:
    contexts = ["the cat sat on the mat in the morning sun", "one two three",
                "a long and winding road leads to the old house by the river bank, far away",
                "ink"]
    pairs = [("where?", c) for c in contexts] + [("what happened after the long night?", "dawn")]
    for score in ("probability", "logit"):
        alone = explain(pairs, model=tiny_qa, score=score, progress=False, **ONE_BY_ONE)
        together = explain(pairs, model=tiny_qa, score=score, progress=False, **ALL_IN_ONE)
        for a, b in zip(alone, together, strict=True):
            assert a.answer == b.answer
            _same([a.start, a.end], [b.start, b.end])


def test_padding_changes_no_qa_probability(tiny_qa) -> None:
    """Padded positions take no share of the softmax over positions (they used to)."""
    runner = Runner(tiny_qa)
    torch.manual_seed(0)
    x = torch.randn(2, 7, 32)
    types = torch.zeros(2, 7, dtype=torch.long)
    target = [Target("start_logits", 2, "probability", "p")] * 2
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    padded, grad = runner.gradients(x, types, target, mask)
    alone, grad_alone = runner.gradients(x[1:, :4], types[1:, :4], target[1:])
    assert float(padded[1]) == pytest.approx(float(alone[0]), rel=1e-5)
    assert torch.allclose(grad[1, :4], grad_alone[0], atol=1e-6)
    assert not grad[1, 4:].any()


def test_pass_slices_bound_tokens_and_padding() -> None:
    rng = np.random.default_rng(0)
    lengths = np.sort(rng.integers(3, 120, size=400))[::-1]
    for budget, slack, least in ((4096, 0.08, 1), (4096, 0.08, 1024), (65536, 1.0, 1),
                                 (50, 0.0, 1)):
        runner = Runner(None, budget, slack, least)  # type: ignore[arg-type]
        slices = runner.pass_slices(lengths)
        assert slices[0].start == 0 and slices[-1].stop == len(lengths)
        assert all(a.stop == b.start for a, b in zip(slices, slices[1:], strict=False))
        for sl in slices:
            longest, rows = lengths[sl.start], sl.stop - sl.start
            assert rows * longest <= budget or rows == 1
            # Padding within the slack, unless the pass is still below its minimum size.
            assert (longest - lengths[sl.stop - 1] <= max(1, slack * longest)
                    or (rows - 1) * longest < least)
    assert len(Runner(None, 65536, 1.0).pass_slices(lengths)) == 1  # type: ignore[arg-type]
    short = np.array([20, 19, 17, 16, 14, 13, 12, 11, 10, 9])  # one row of each length
    assert len(Runner(None, 4096, 0.08, 1).pass_slices(short)) == 5  # type: ignore[arg-type]
    assert len(Runner(None, 4096, 0.08, 1024).pass_slices(short)) == 1  # type: ignore[arg-type]


def test_even_chunks_cover_everything_and_balance_workers() -> None:
    rng = np.random.default_rng(1)
    lengths = [int(n) for n in rng.integers(5, 60, size=100)]
    for size, workers in ((64, 2), (16, 2), (7, 3), (10**6, 1), (1, 1)):
        chunks = even_chunks(lengths, size, workers)
        assert sorted(i for c in chunks for i in c) == list(range(len(lengths)))
        assert all(chunks)
        if workers > 1:
            assert len(chunks) % workers == 0
        flat = [lengths[i] for c in chunks for i in c]
        assert flat == sorted(flat, reverse=True)  # contiguous runs of the sorted order
        totals = [sum(lengths[i] for i in c) for c in chunks]
        if len(chunks) == workers > 1:  # one chunk a worker: they must cost about the same
            assert max(totals) <= 1.1 * min(totals)
    assert even_chunks([], 16, 2) == []


def test_batching_defaults_by_device() -> None:
    cpu = batching_for(torch.device("cpu"))
    gpu = batching_for(torch.device("cuda"))
    assert cpu.workers == torch.get_num_threads() and cpu.pad_slack == 0.08
    assert gpu.workers == 1 and gpu.jobs_per_chunk >= 10**5 and gpu.pad_slack == 1.0
    assert gpu.max_tokens_per_pass > cpu.max_tokens_per_pass
    assert batching_for(torch.device("cuda"), jobs_per_chunk=8, workers=2).jobs_per_chunk == 8


def test_single_pass_methods_compute_a_shared_baseline_once(sharp_classifier,
                                                            monkeypatch) -> None:
    """lrp and the other single-pass methods: F(baseline) once per (baseline, types, target),
    each text's value what its own baseline row gives alone (an independent forward)."""
    texts = ["good", "fine", "bad", "dull", "grand", "not bad at all", "an utter mess"]
    rows: list[int] = []
    original = runner_module.Runner.scores

    def counting(self, embeds, types, targets, mask=None):
        rows.append(embeds.shape[0])
        return original(self, embeds, types, targets, mask)

    monkeypatch.setattr(runner_module.Runner, "scores", counting)
    for method in ("lrp", "gxi"):
        rows.clear()
        exps = explain(texts, model=sharp_classifier, method=method, target=0, progress=False)
        distinct = len({len(e.tokens) for e in exps})
        assert distinct < len(texts) and sum(rows) == distinct  # one row per distinct baseline
        tok, model = sharp_classifier.tokenizer, sharp_classifier.model
        special = set(tok.all_special_ids)
        for e, text in zip(exps, texts, strict=True):
            base = [i if i in special else tok.pad_token_id for i in tok(text)["input_ids"]]
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([base])).logits[0].double()
            alone = logits[0] if method == "lrp" else torch.softmax(logits, -1)[0]
            assert e.baseline_output == pytest.approx(float(alone), rel=1e-5, abs=1e-6)
