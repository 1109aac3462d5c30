"""Sentence splitting keeps abbreviations and decimals, and offsets point into the source."""

from textlens.corpus import split_sentences


def test_split_keeps_abbreviations_decimals_and_offsets():
    text = ("Mr. President, I thank you. The U.N. was founded in 1945. "
            "Growth was 3.5 per cent! Is it enough?\n\n\"Yes.\" We agree.")
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Mr. President, I thank you.", "The U.N. was founded in 1945.",
        "Growth was 3.5 per cent!", "Is it enough?", '"Yes."', "We agree."]
    assert all(text[s.start:s.end] == s.text for s in sentences)


def test_lower_case_after_full_stop_does_not_split():
    assert len(split_sentences("It rose by approx. ten per cent. Then it fell.")) == 2
