"""QA half of the label-noise benchmark (run through bench/label_noise.py).

SQuAD validation articles (textlens's title split: the QA model never trained on them), one gold
span per question (the first human answer, as in a training set). The model runs once: the
start/end logits of every window are cached, and the n best spans and the loss at any gold are
computed from them exactly as `predict_qa` does. Planted per seed, on disjoint questions, 5% each:

  moved      gold moved to a random sentence among the less related half of the context
             (raw word Jaccard with the question, not the detector's relatedness), same length;
  swapped    golds of two questions on the same paragraph exchanged (both are errors);
  boundary   gold cut short or extended by 1-4 words at one end;
  control    gold moved to another mention of the same text: NOT an error (false alarms).

Per kind, rankings are scored on the clean questions plus that kind; false alarms are the share
of controls (and, for reference, of clean questions) in the top K, K = all planted errors.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
from common import timed
from label_noise import CACHE, metrics, time_ranking

QA_RATE = 0.05
KINDS = ("moved", "swapped", "boundary")
MODEL = CACHE / "models" / "squad-minilm"


def load_qa_model(path: Path):
    """A model directory, or a training checkpoint (weights only) on the base encoder."""
    from textlens.models.loading import load_model, new_model

    if (path / "config.json").exists():
        return load_model(path, device="cpu")
    from safetensors.torch import load_file

    loaded = new_model("qa", device="cpu")
    loaded.model.load_state_dict(load_file(path / "model.safetensors"), strict=False)
    loaded.model.eval()
    return loaded


def qa_features(model_dir: Path, questions: tuple[int, int] = (0, 0)) -> dict:
    """Questions (first gold only) and the cached per-window logits and offsets."""
    import torch

    from textlens.data import load_dataset
    from textlens.models.predict import length_batches
    from textlens.models.qa import DEFAULT_QA_WINDOWING, QAWindowing, encode_qa

    data = list(load_dataset("squad", "validation"))
    data = data[questions[0]:questions[1] or len(data)]
    weights = model_dir / "model.safetensors"
    record = model_dir / "training.json"
    windowing = (QAWindowing.from_record(json.loads(record.read_text())) if record.exists()
                 else None) or DEFAULT_QA_WINDOWING  # as `predict_qa` windows (256/128 for squad-minilm)
    stamp = f"{model_dir}:{weights.stat().st_mtime}:{weights.stat().st_size}:{questions}"
    if windowing != DEFAULT_QA_WINDOWING:  # older caches (384/128) keep their names
        stamp += f":{windowing.max_length}/{windowing.stride}"
    path = CACHE / "label_noise" / f"squad_{hashlib.sha1(stamp.encode()).hexdigest()[:12]}.npz"
    meta = {"ids": [e.id for e in data], "questions": [e.question for e in data],
            "titles": [getattr(e, "title", "") for e in data],
            "contexts": [e.context for e in data],
            "gold": [(e.answers[0].start, e.answers[0].end) for e in data]}
    if not path.exists():
        torch.set_num_threads(1)
        loaded = load_qa_model(model_dir)
        feats = encode_qa(loaded.tokenizer, data, windowing.max_length, windowing.stride)
        starts, ends = [None] * len(feats.input_ids), [None] * len(feats.input_ids)
        with timed() as forward, torch.inference_mode():
            for batch in length_batches([len(x) for x in feats.input_ids], 32):
                items = [{"input_ids": feats.input_ids[i], "attention_mask": feats.attention_mask[i],
                          **({"token_type_ids": feats.token_type_ids[i]}
                             if feats.token_type_ids is not None else {})} for i in batch]
                padded = loaded.tokenizer.pad(items, return_tensors="pt")
                out = loaded.model(**padded)
                for row, i in enumerate(batch):
                    n = len(feats.input_ids[i])
                    starts[i] = out.start_logits[row, :n].float().numpy()
                    ends[i] = out.end_logits[row, :n].float().numpy()
        seconds = forward["seconds"]
        offsets = np.concatenate([np.array([o if o is not None else (-1, -1) for o in window])
                                  for window in feats.offsets])
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, start=np.concatenate(starts), end=np.concatenate(ends), offsets=offsets,
                 lengths=np.array([len(x) for x in feats.input_ids]),
                 example_index=np.array(feats.example_index), seconds=seconds)
    z = np.load(path)
    bounds = np.concatenate([[0], np.cumsum(z["lengths"])])
    windows: list[list[tuple]] = [[] for _ in data]
    for w, ex in enumerate(z["example_index"]):
        a, b = bounds[w], bounds[w + 1]
        offs = [None if o[0] < 0 else (int(o[0]), int(o[1])) for o in z["offsets"][a:b]]
        windows[int(ex)].append((z["start"][a:b], z["end"][a:b], offs))
    return {**meta, "windows": windows, "model_s": float(z["seconds"]), "model": str(model_dir),
            "windowing": windowing.to_dict()}


def nbest_of(windows: list[tuple], context: str) -> tuple[tuple[int, int, float], ...]:
    """The 20 best spans over all windows, as `predict_qa` ranks them."""
    from textlens.models.qa import best_spans

    spans = [s for st, en, off in windows for s in best_spans(st, en, off, context, 20, 30)]
    spans.sort(key=lambda s: -s.score)
    return tuple((s.start_char, s.end_char, s.score) for s in spans[:20])


def gold_loss_and_score(windows: list[tuple], gold: tuple[int, int]
                        ) -> tuple[float, float, float, float]:
    """Start + end cross-entropy at the gold (first window holding it, else [CLS] of the first),
    as `predict_qa` computes the loss; the gold's start + end logit (-inf when no window); and
    the start cross-entropy alone (`QAPrediction.start_loss`); the local loss at the ends
    (`QAPrediction.local_loss`, 0 when no window holds the gold)."""
    from scipy.special import logsumexp

    from textlens.models.predict import local_cross_entropy
    from textlens.models.qa import char_span_to_tokens

    for st, en, off in windows:
        s, e = char_span_to_tokens(off, *gold)
        if (s, e) != (0, 0):
            return (float(logsumexp(st) - st[s] + logsumexp(en) - en[e]), float(st[s] + en[e]),
                    float(logsumexp(st) - st[s]),
                    local_cross_entropy(st, off, s) + local_cross_entropy(en, off, e))
    st, en, _ = windows[0]
    return (float(logsumexp(st) - st[0] + logsumexp(en) - en[0]), float("-inf"),
            float(logsumexp(st) - st[0]), 0.0)


def _words(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def unrelated_sentence(question: str, context: str, spans: list[tuple[int, int]],
                       rng: np.random.Generator) -> tuple[int, int]:
    """A random sentence among the less related half to the question, by raw lower-case word
    Jaccard: deliberately not the detector's own relatedness (content words, stemmed)."""
    q = set(question.lower().split())

    def jaccard(span: tuple[int, int]) -> float:
        w = set(context[span[0]:span[1]].lower().split())
        return len(q & w) / max(1, len(q | w))

    values = np.array([jaccard(s) for s in spans])
    low = [s for s, v in zip(spans, values, strict=True) if v <= np.median(values)]
    return low[int(rng.integers(len(low)))]


def plant_qa(f: dict, seed: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Noisy gold spans and each question's kind (clean, moved, swapped, boundary, control)."""
    from textlens.latent.issues.qa_signals import mentions
    from textlens.latent.issues.text import sentence_spans

    rng = np.random.default_rng(seed)
    n = len(f["ids"])
    gold = list(f["gold"])
    kind = np.array(["clean"] * n, dtype=object)
    m = int(QA_RATE * n)
    order = rng.permutation(n)
    counts = dict.fromkeys(("moved", "boundary", "control", "swapped"), 0)
    by_context: dict[str, list[int]] = {}
    for i in range(n):
        by_context.setdefault(f["contexts"][i], []).append(i)
    for i in order:
        ctx, (a, b), q = f["contexts"][i], gold[i], f["questions"][i]
        text = ctx[a:b]
        todo = [k for k in ("control", "moved", "boundary", "swapped") if counts[k] < m]
        if not todo or kind[i] != "clean":
            continue
        k = todo[int(rng.integers(len(todo)))]
        if k == "control":
            others = [s for s in mentions(ctx, text) if s != a]
            if len(text) < 3 or not others:
                continue
            start = int(rng.choice(others))
            gold[i] = (start, start + len(text))
        elif k == "moved":
            spans = [s for s in sentence_spans(ctx) if not s[0] <= a < s[1]]
            if len(spans) < 2:
                continue
            far = unrelated_sentence(q, ctx, spans, rng)
            words = [w for w in _words(ctx[far[0]:far[1]])]
            size = min(len(words), max(1, len(_words(text))))
            first = int(rng.integers(0, len(words) - size + 1))
            gold[i] = (far[0] + words[first][0], far[0] + words[first + size - 1][1])
        elif k == "boundary":
            words = _words(ctx)
            inside = [j for j, w in enumerate(words) if w[0] < b and a < w[1]]
            if not inside:
                continue
            lo, hi, d = inside[0], inside[-1], int(rng.integers(1, 5))
            options = []
            if hi - lo >= d:
                options += [(lo + d, hi), (lo, hi - d)]
            if lo - d >= 0:
                options.append((lo - d, hi))
            if hi + d < len(words):
                options.append((lo, hi + d))
            if not options:
                continue
            s, e = options[int(rng.integers(len(options)))]
            gold[i] = (words[s][0], words[e][1])
        else:
            from textlens.metrics.squad import normalize_answer

            partners = [j for j in by_context[ctx] if j != i and kind[j] == "clean"
                        and not (gold[j][0] < b and a < gold[j][1])
                        and normalize_answer(ctx[gold[j][0]:gold[j][1]]) != normalize_answer(text)]
            if not partners or counts["swapped"] + 2 > m:
                continue
            j = int(rng.choice(partners))
            gold[i], gold[j] = gold[j], gold[i]
            kind[j] = "swapped"
            counts["swapped"] += 1
        kind[i] = k
        counts[k] += 1
    return gold, kind


def qa_rankings(f: dict, nbest: list, gold: list, seed: int
                ) -> tuple[dict, tuple[dict[str, np.ndarray], np.ndarray], list[str]]:
    """{name: (score, seconds)}, the textlens feature table (named columns, for fitting on
    tuning seeds) and the kind textlens gives each question."""
    from label_qa_before import qa_issue_score

    from textlens.latent.issues import qa_signals
    from textlens.latent.issues.qa import qa_label_issues

    n = len(gold)
    loss_score = [gold_loss_and_score(f["windows"][i], gold[i]) for i in range(n)]
    loss = np.array([x[0] for x in loss_score])
    samples = [qa_signals.QASample(f["ids"][i], f["questions"][i], f["contexts"][i], *gold[i],
                                 nbest[i], float(loss[i]), *loss_score[i][2:]) for i in range(n)]
    rng = np.random.default_rng(seed + 11)

    def margin() -> np.ndarray:
        top = np.array([nb[0][2] if nb else 0.0 for nb in nbest])
        g = np.array([x[1] for x in loss_score])
        return np.where(np.isfinite(g), top - g, 1e6 + loss)

    def before() -> np.ndarray:
        out = -1.0 - rng.random(n) * 1e-3
        for i, s in enumerate(samples):
            if nbest[i]:
                conf = qa_signals.span_confidence([x[2] for x in nbest[i]])
                r = qa_issue_score(s.question, s.context, [gold[i]], nbest[i][0][0],
                                   nbest[i][0][1], conf)
                out[i] = r.score if r.score > 0 else out[i]
        return out

    kinds: dict[str, str] = {}

    def textlens() -> np.ndarray:
        score = np.zeros(n)
        index = {s.id: i for i, s in enumerate(samples)}
        for issue in qa_label_issues(samples):
            score[index[issue.id]] = issue.score
            kinds[issue.id] = issue.kind
        return score

    sig = qa_signals.all_signals(samples)
    features = qa_signals.feature_table(sig)
    rankings = {
        "loss": lambda: loss, "margin": margin, "random": lambda: rng.random(n),
        "textlens before #13": before, "textlens": textlens,
        "signal: 1 - n-best mass on gold text": lambda: np.array([1 - s.mass_text for s in sig]),
        "signal: relatedness gap": lambda: np.array([s.relatedness_gap for s in sig]),
        "signal: claimed by another question": lambda: np.array([s.claimed for s in sig]),
        "signal: boundary mass": lambda: np.array([s.mass_overlap - s.mass_exact for s in sig]),
        "signal: gold sentence rank (IDF)": lambda: np.array([s.gold_rank for s in sig]),
        "signal: gold ends on a function word": lambda: np.array(
            [s.ends_function + 0.5 * s.starts_function for s in sig]),
        "signal: answer type mismatch": lambda: np.array([float(s.type_mismatch) for s in sig]),
        "signal: mutual claim (swap)": lambda: np.array([s.mutual_claim for s in sig]),
        "signal: costlier end's loss": lambda: np.array([max(s.start_loss, s.end_loss)
                                                         for s in sig]),
        "signal: local loss at the ends": lambda: np.array([s.local_loss for s in sig]),
    }
    out = {name: time_ranking(fn) for name, fn in rankings.items()}
    others = np.array([qa_signals.other_mention_mass(s) for s in sig])
    return out, (features, others), [kinds[s.id] for s in samples]


def qa_metrics(score: np.ndarray, kind: np.ndarray) -> dict:
    out = {}
    for k in KINDS:
        keep = (kind == "clean") | (kind == k)
        out[k] = metrics(score, kind == k, exclude=~keep)
    errors = np.isin(kind, KINDS)
    top = np.argsort(-score, kind="stable")[:int(errors.sum())]
    control, clean = kind == "control", kind == "clean"
    out["control"] = {"false_alarm_rate": float(np.isin(top, np.flatnonzero(control)).sum()
                                                / max(1, control.sum())),
                      "clean_in_top_k_rate": float(np.isin(top, np.flatnonzero(clean)).sum()
                                                   / max(1, clean.sum())),
                      "auroc_control_vs_clean": metrics(score, control, exclude=~(control | clean)
                                                        )["auroc"]}
    return out


def run_qa(seeds: tuple[int, ...], questions: tuple[int, int] = (0, 0), model_dir: Path = MODEL,
           fit: bool = False) -> dict:
    f = qa_features(model_dir, questions)
    with timed() as t:
        nbest = [nbest_of(w, c) for w, c in zip(f["windows"], f["contexts"], strict=True)]
    nbest_s = t["seconds"]
    per_kind: dict = {}
    costs: dict = {}
    xs, ys, others = [], [], []
    kind_table: dict[str, int] = {}
    for seed in seeds:
        gold, kind = plant_qa(f, seed)
        ranked, (features, other), called = qa_rankings(f, nbest, gold, seed)
        flagged = np.array(called) != "none"
        for planted in (*KINDS, "control", "clean"):
            for c in set(called):
                key = f"{planted} -> {c}"
                kind_table[key] = kind_table.get(key, 0) + int(
                    ((kind == planted) & (np.array(called) == c) & flagged).sum())
        xs.append(features)
        ys.append(kind)
        others.append(other)
        for name, (score, sec) in ranked.items():
            costs.setdefault(name, []).append(sec)
            per_kind.setdefault(name, []).append(qa_metrics(score, kind))
        counts = {k: int((kind == k).sum()) for k in (*KINDS, "control")}
    result = {"data": f"SQuAD validation articles, questions {questions[0]} to "
                      f"{questions[0] + len(f['ids'])} of 2,062 in file order",
              "model": f["model"], "windowing": f["windowing"],
              "model_forward_s": round(f["model_s"], 1),
              "nbest_from_logits_s": round(nbest_s, 1), "rate_per_kind": QA_RATE,
              "planted_per_seed": counts,
              "flagged_kinds_all_seeds": {k: v for k, v in sorted(kind_table.items()) if v},
              "metrics": {}, "seconds": {k: round(float(np.mean(v)), 3) for k, v in costs.items()}}
    for name, runs in per_kind.items():
        result["metrics"][name] = {k: {m: round(float(np.mean([r[k][m] for r in runs])), 3)
                                       for m in runs[0][k]} for k in (*KINDS, "control")}
    result.update(seeds=list(seeds), note="seconds on 2 CPU cores shared with other engineers' "
                                            "jobs: upper bounds; model_forward_s cached from the "
                                            "first run")
    for name, v in result["metrics"].items():
        print(f"{name:40s}", " ".join(f"{k} {v[k]['precision_at_k']:.3f}" for k in KINDS),
              "FA", v["control"]["false_alarm_rate"], flush=True)
    if fit:
        from label_noise_qa_fit import fit as fit_weights

        result["fitted"] = fit_weights(xs, ys, others, np.array(f["titles"]))
    return result
