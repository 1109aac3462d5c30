"""QA explanations over contexts longer than the model takes: one window is chosen and explained,
the way `predict_qa` reads long contexts, and the explanation says which part of the context."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest

from textlens.attribution import explain
from textlens.attribution.encoding import encode_windows
from textlens.attribution.explanation import Explanation, QAExplanation
from textlens.data.types import QAExample
from textlens.errors import InputError
from textlens.models.predict import predict_qa

QUESTION = "Which number comes after the marker?"
NASTY = '<script>alert("x")</script>'


def _context(n: int = 450) -> str:
    """Words "w0 w1 ..." (about 2-3 tokens each: well over the tiny model's 512) with a script
    tag near the start, to check escaping also outside the explained window."""
    return " ".join(f"w{i} {NASTY}" if i == 3 else f"w{i}" for i in range(n))


def _span(context: str, word: str) -> tuple[int, int]:
    start = re.search(rf"\b{word}\b", context).start()  # type: ignore[union-attr]
    return start, start + len(word)


def _visible(html: str) -> str:
    return unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", html, flags=re.S))


def _check_window(exp: QAExplanation, context: str) -> tuple[int, int]:
    """The window field matches the explained tokens, and scores outside it are 0."""
    assert exp.window is not None and exp.windows > 1 and 0 <= exp.window_index < exp.windows
    a, b = exp.window
    for part in exp.parts:
        assert isinstance(part, Explanation)
        offsets = [o for o, s in zip(part.offsets, part.segments, strict=True) if s == 1]
        assert (min(o[0] for o in offsets), max(o[1] for o in offsets)) == (a, b)
        assert part.text == context and len(part.char_scores) == len(context)
        scores = np.asarray(part.char_scores)
        assert not scores[:a].any() and not scores[b:].any()
        assert scores[a:b].any()
        assert not part.truncated
    d = exp.to_dict()
    assert d["window"] == [a, b] and d["windows"] == exp.windows
    assert d["window_index"] == exp.window_index
    return a, b


def test_long_context_is_split_into_windows_with_full_context_offsets(tiny_qa) -> None:
    context = _context()
    windows = encode_windows(tiny_qa, context, QUESTION)
    assert len(windows) > 2
    assert all(len(w) <= tiny_qa.max_length and w.texts[1] == context for w in windows)
    assert [w.window for w in windows] == list(range(len(windows)))
    ranges = [w.char_range(1) for w in windows]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(context)  # type: ignore[index]
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):  # type: ignore[misc]
        assert start < end  # neighbouring windows overlap (stride)
    (short,) = encode_windows(tiny_qa, "Bob went home.", "who?")
    assert short.windows == 1 and short.char_range(1) == (0, len("Bob went home."))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_predicted_window_holds_the_answer_predict_qa_gives(make_tiny, seed) -> None:
    model = make_tiny("qa", seed=seed)
    context = _context()
    (exp,) = explain([(QUESTION, context)], model=model, method="gxi", progress=False)
    assert isinstance(exp, QAExplanation)
    a, b = _check_window(exp, context)
    assert a <= exp.answer_span[0] < exp.answer_span[1] <= b
    (pred,) = predict_qa(model, [QAExample("q", "t", context, QUESTION, ())],
                         progress=False)
    assert (exp.answer, exp.answer_span) == (pred.answer, (pred.start_char, pred.end_char))
    assert all(p.label == exp.answer for p in exp.parts)
    (again,) = explain([(QUESTION, context)], model=model, method="gxi", truncate=True,
                       progress=False)  # truncate no longer cuts QA contexts
    assert again.window == exp.window


@pytest.mark.parametrize("word", ["w2", "w440"])
def test_gold_window_holds_the_gold_span_and_ig_stays_complete(tiny_qa, word) -> None:
    context = _context()
    gold = _span(context, word)
    (exp,) = explain([(QUESTION, context)], model=tiny_qa, target="gold", answers=[gold],
                     progress=False)
    a, b = _check_window(exp, context)
    assert a <= gold[0] < gold[1] <= b and exp.gold_span == gold
    assert exp.window_index == (0 if word == "w2" else exp.windows - 1)
    for part in exp.parts:
        assert "gold" in part.target
        assert part.completeness_error is not None and part.completeness_error <= 0.01
    (pred,) = predict_qa(tiny_qa, [QAExample("q", "t", context, QUESTION, ())],
                         progress=False)
    assert exp.answer == pred.answer  # the answer over all windows, wherever the gold span is
    (loss,) = explain([(QUESTION, context)], model=tiny_qa, method="loss", answers=[gold],
                      parts="start", progress=False)
    assert loss.window == exp.window and loss.end is None and loss.start is not None


def test_gold_span_errors_on_long_context(tiny_qa) -> None:
    context = _context()
    with pytest.raises(InputError, match="not inside the context"):
        explain([(QUESTION, context)], model=tiny_qa, method="loss",
                answers=[(len(context) + 2, len(context) + 6)], progress=False)
    with pytest.raises(InputError, match="gold span is needed"):
        explain([(QUESTION, context)], model=tiny_qa, target="gold", progress=False)


def test_over_long_question_is_refused_with_the_fix(tiny_qa) -> None:
    question = "why " * 600 + "?"
    for context in (_context(), "Bob went home."):
        with pytest.raises(InputError, match="question has") as info:
            explain([(question, context)], model=tiny_qa, method="gxi", progress=False)
        assert "shorten the question" in (info.value.fix or "")


def test_short_context_has_no_window(tiny_qa) -> None:
    (exp,) = explain([("who went?", "Bob went home.")], model=tiny_qa, method="gxi",
                     progress=False)
    assert exp.window is None and exp.windows == 1 and exp.window_index == 0
    assert exp.to_dict()["window"] is None
    assert 'class="tl-note"' not in exp.to_html()
    assert "explained context characters" not in exp.to_html()


def test_html_and_terminal_say_which_part_was_explained(tiny_qa) -> None:
    from rich.console import Console

    from textlens.report.terminal import render

    context = _context()
    gold = _span(context, "w440")
    (exp,) = explain([(QUESTION, context)], model=tiny_qa, method="loss", answers=[gold],
                     progress=False)
    a, b = exp.window
    note = (f"explained context characters {a}-{b} of {len(context)} (long context, window "
            f"{exp.window_index + 1} of {exp.windows})")
    for html in (exp.to_html(), exp.to_html(fragment=True)):
        assert note in _visible(html)
        assert "<script" not in html and "&lt;script&gt;" in html
        assert context in _visible(html)  # the whole context is shown, escaped
    console = Console(record=True, width=200)
    for line in render(exp):
        console.print(line)
    assert note in console.export_text()


def test_doc_stride_sets_the_window_overlap(tiny_qa) -> None:
    context = _context()
    wide, narrow = (encode_windows(tiny_qa, context, QUESTION, stride) for stride in (128, 16))
    assert len(narrow) < len(wide)  # less overlap, fewer windows
    (exp,) = explain([(QUESTION, context)], model=tiny_qa, method="gxi", doc_stride=16,
                     progress=False)
    assert exp.windows == len(narrow)
    assert exp.window == narrow[exp.window_index].char_range(1)
    with pytest.raises(InputError, match="doc_stride"):
        encode_windows(tiny_qa, context, QUESTION, -1)


def test_each_window_is_run_forward_once(tiny_qa, monkeypatch) -> None:
    """Choosing the window runs every window; the chosen one is not predicted again."""
    from textlens.attribution import runner as runner_module

    rows: list[int] = []
    original = runner_module.Runner.raw

    def counting(self, embeds, *args, **kwargs):
        rows.append(embeds.shape[0])
        return original(self, embeds, *args, **kwargs)

    monkeypatch.setattr(runner_module.Runner, "raw", counting)
    context = _context()
    (exp,) = explain([(QUESTION, context)], model=tiny_qa, method="gxi", progress=False)
    assert sum(rows) == exp.windows == len(encode_windows(tiny_qa, context, QUESTION))
