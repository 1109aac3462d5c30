"""What a cluster is about: distinctive terms (class-based TF-IDF), question words, answer types.

c-TF-IDF (as in BERTopic) treats each cluster as one document: term frequency within the
cluster, normalised by cluster size, times log(1 + mean words per cluster / term frequency over
all clusters). Terms frequent in one cluster and rare elsewhere score highest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

TOKENS = r"(?u)\b[a-zA-Z][a-zA-Z0-9'-]+\b|\b\d{4}\b"  # words, and 4-digit years
QUESTION_TYPES = ("how many", "how much", "what year", "when", "who", "whom", "whose", "where",
                  "which", "why", "how", "what")
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                 "forty|fifty|hundred|thousand|million|billion|dozen")
_RULES = (
    ("percentage", re.compile(r"\d\s*%|\bper ?cent\b", re.I)),
    ("year", re.compile(r"^(?:in |the )?(1[0-9]{3}|20[0-9]{2})s?$", re.I)),
    ("date", re.compile(rf"\b(?:{_MONTHS})\b\.?\s*\d|\d\s*(?:{_MONTHS})\b|\b(?:{_MONTHS})\b\.?,?\s"
                        r"*\d{4}|^\d{1,2}(?:st|nd|rd|th)? century$|^\d{1,2}/\d{1,2}/\d{2,4}$",
                        re.I)),
    ("number", re.compile(rf"^[$£€]?\s*[\d.,]+(?:\s*\w+)?$|^(?:about |over |nearly )?(?:"
                          rf"{_NUMBER_WORDS})\b", re.I)),
)


def question_type(question: str) -> str:
    """The question's wh-phrase (how many, what year, when, who, ...), else `other`."""
    q = " " + re.sub(r"[^a-z ]", " ", question.lower()) + " "
    best, where = "other", len(q)
    for kind in QUESTION_TYPES:
        found = q.find(f" {kind} ")
        if found != -1 and found < where:
            best, where = kind, found
    return best


def answer_type(answer: str) -> str:
    """year, date, percentage, number, proper name or other, from simple surface rules."""
    text = answer.strip().strip(".,;:\"'")
    if not text:
        return "other"
    for name, rule in _RULES:
        if rule.search(text):
            return name
    glue = {"of", "the", "and", "de", "von"}
    words = [w for w in re.split(r"\s+", text) if w.lower() not in glue]
    if words and all(w[:1].isupper() for w in words):
        return "proper name"
    return "other"


def mix(values: Sequence[str], top: int = 4) -> str:
    """'what 45%, who 20%, ...' for a cluster's column of categories."""
    counts = Counter(values)
    total = max(1, len(values))
    return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in counts.most_common(top))


def class_tfidf_terms(texts: Sequence[str], labels: Sequence[int], top: int = 8,
                      min_count: int = 2) -> dict[int, list[str]]:
    """The `top` most distinctive terms of each cluster label (c-TF-IDF, English stop words out)."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(int(x) for x in labels))
    docs = {c: [] for c in classes}
    for text, label in zip(texts, labels, strict=True):
        docs[int(label)].append(text)
    joined = [" ".join(docs[c]) for c in classes]
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        stop = sorted(ENGLISH_STOP_WORDS | {"n't", "ca", "wo"})  # PTB-tokenised negations
        vec = CountVectorizer(stop_words=stop, token_pattern=TOKENS)
        counts = vec.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # no terms at all
        return {c: [] for c in classes}
    terms = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    avg_words = counts.sum() / len(classes)
    idf = np.log(1.0 + avg_words / np.maximum(counts.sum(axis=0), 1.0))
    scores = tf * idf * (counts.sum(axis=0) >= min_count)  # one-off words are noise
    out = {}
    for row, c in enumerate(classes):
        best = np.argsort(-scores[row])[:top]
        out[c] = [str(terms[i]) for i in best if scores[row, i] > 0]
    return out
