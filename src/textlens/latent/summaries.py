"""What a cluster is about: distinctive terms (class-based TF-IDF), question words, answer types.

Terms are class-based (each cluster treated as one document, as in BERTopic's c-TF-IDF) but
scored against the other clusters: a term scores by its share of the cluster's words times its
log-lift over the rest of the population times its idf over samples, so words frequent
everywhere ("film", "movie" on SST-2) score 0 and the terms a cluster has and others lack lead.
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
                      min_count: int = 2, smoothing: float = 0.5) -> dict[int, list[str]]:
    """The `top` most distinctive terms of each cluster: what it says that the others do not.

    score(c, t) = tf_c(t) x max(0, log-lift of t in c against the other clusters) x idf(t):
    - tf_c: the term's share of the cluster's words (class-based, as in BERTopic's c-TF-IDF);
    - log-lift: log(tf_c / tf_rest), smoothed by `smoothing` counts, so a term as frequent in
      the other clusters as in this one scores 0 however frequent it is (plain c-TF-IDF put
      "film, movie" first in four of five SST-2 clusters);
    - idf: log(samples / samples containing t), so corpus-wide terms are down-weighted further.
    English stop words (and PTB-tokenised negation pieces) are removed; terms seen fewer than
    `min_count` times in the cluster are noise.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = sorted({int(x) for x in labels})
    stop = sorted(ENGLISH_STOP_WORDS | {"n't", "ca", "wo"})  # PTB-tokenised negations
    try:
        docs = CountVectorizer(stop_words=stop, token_pattern=TOKENS).fit(texts)
    except ValueError:  # no terms at all
        return {c: [] for c in classes}
    matrix = docs.transform(texts).tocsr()
    terms = docs.get_feature_names_out()
    row_of = {c: i for i, c in enumerate(classes)}
    member = sparse.csr_matrix((np.ones(len(texts)), ([row_of[int(x)] for x in labels],
                                                      np.arange(len(texts)))),
                               shape=(len(classes), len(texts)))
    counts = np.asarray((member @ matrix).todense(), dtype=np.float64)  # (clusters, terms)
    totals = counts.sum(axis=1, keepdims=True)
    vocab = counts.shape[1]
    tf = (counts + smoothing) / (totals + smoothing * vocab)
    rest_counts = counts.sum(axis=0, keepdims=True) - counts
    rest_totals = totals.sum() - totals
    if len(classes) > 1:
        tf_rest = (rest_counts + smoothing) / (rest_totals + smoothing * vocab)
        lift = np.maximum(0.0, np.log(tf / tf_rest))
    else:  # one cluster: nothing to contrast with
        lift = np.ones_like(tf)
    contains = np.asarray((matrix > 0).sum(axis=0), dtype=np.float64)
    idf = np.log(len(texts) / np.maximum(contains, 1.0))
    share = counts / np.maximum(totals, 1.0)
    scores = share * lift * idf * (counts >= min_count)
    out = {}
    for row, c in enumerate(classes):
        best = np.argsort(-scores[row], kind="stable")[:top]
        out[c] = [str(terms[i]) for i in best if scores[row, i] > 0]
    return out
