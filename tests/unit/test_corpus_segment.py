"""Cleaning and segmentation keep offsets into the original text; the gold sample is well formed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from textlens.corpus.segment import clean, segment

GOLD = Path(__file__).resolve().parents[1] / "data" / "ungdc_sentence_boundaries.jsonl"
TEXT = ("Mr. President,\n\nWe fully endorse the Secretary-\nGeneral\u2019s plan. It is  good.\n"
        "12\nThe run-\n \n3\nup to the forum and\nthe rest of it. Growth was 3.5 per cent!\n"
        "- 4 -\nThank you.")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("segmenter", ["rules", "pysbd"])
def test_sentences_map_back_onto_the_original(segmenter):
    sentences = segment(TEXT, segmenter)
    assert [s.text for s in sentences] == [
        "Mr. President,", "We fully endorse the Secretary-General\u2019s plan.", "It is good.",
        "The run-up to the forum and the rest of it.", "Growth was 3.5 per cent!", "Thank you."]
    for s in sentences:
        original = TEXT[s.start:s.end]
        # the original span is the sentence once numbers, line breaks and spaces are cleaned
        without_numbers = re.sub(r"\n\s*\d+\s*\n", "\n", original)
        assert squash(without_numbers.replace("-\n \n", "-").replace("-\n", "-")) == s.text


def test_clean_drops_number_lines_and_keeps_a_position_map():
    original = "One.\n  7  \nTwo  words."
    cleaned = clean(original)
    assert cleaned.text == "One.\nTwo words."
    for k, i in enumerate(cleaned.origin):  # each kept character comes from its original place
        assert cleaned.text[k] == original[i] or (cleaned.text[k].isspace() and original[i].isspace())
    assert cleaned.span(5, 8) == (11, 14) and original[11:14] == "Two"


def test_soft_line_breaks_join_and_hard_ones_split():
    text = "This sentence goes\non and on,\nand ends here.\nA new paragraph"
    assert [s.text for s in segment(text)] == [
        "This sentence goes on and on, and ends here.", "A new paragraph"]


def test_gold_sample_is_well_formed_and_large_enough(data_dir):
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    boundaries = sum(len(r["boundaries"]) for r in rows)
    assert boundaries >= 200
    for row in rows:
        text = (data_dir / "ungdc" / row["path"]).read_text(encoding="utf-8").lstrip("\ufeff")
        assert 0 <= row["start"] < row["end"] <= len(text)
        for b in row["boundaries"]:
            assert row["start"] < b < row["end"] and not text[b].isspace()


def test_default_segmenter_is_the_better_one_on_the_gold_sample(data_dir):
    """The documented choice (rules after cleaning, over pysbd) holds on the gold sample."""
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    f1 = {}
    for name in ("rules", "pysbd"):
        tp = fp = fn = 0
        for row in rows:
            text = (data_dir / "ungdc" / row["path"]).read_text(encoding="utf-8").lstrip("\ufeff")
            got = {s.start for s in segment(text, name) if row["start"] < s.start < row["end"]}
            gold = set(row["boundaries"])
            tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
        f1[name] = 2 * tp / (2 * tp + fp + fn)
    assert f1["rules"] >= f1["pysbd"] and f1["rules"] > 0.98
