"""textlens's AOPC comprehensiveness and sufficiency against ferret-xai's evaluators, on the same
explanations, per text.

ferret-xai 0.4.2 pins transformers < 5, numpy < 2 and shap < 0.45, so it cannot be installed
beside textlens; its evaluators are plain numpy over a model, so they are loaded from a copy
installed without dependencies (`pip install --no-deps --target DIR ferret-xai`), with its
package __init__ (which imports its datasets and benchmark) skipped.

The settings are matched: ferret removes tokens (`remove_tokens`), ranks all tokens
(`only_pos=False`) and is given, per text, the token counts textlens deletes
(k = ceil(f * n) for f in 1, 5, 10, 20, 50%); ferret drops a fraction whose rationale equals the
previous one, so textlens's per-text AOPC is taken over the same distinct k. Remaining
differences are ferret's: it decodes the perturbed ids to a string and re-tokenises it (a
deleted subword can merge its neighbours), and breaks score ties the other way.

    python bench/faithfulness_reference.py --ferret /tmp/ferretpkg --n 100
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import types
from pathlib import Path

import numpy as np
from common import record, timed

from textlens.attribution import explain
from textlens.attribution.faithfulness import FRACTIONS, erasure
from textlens.data import load_dataset
from textlens.models.loading import default_model, load_model


def ferret_evaluators(root: Path):
    """ferret's faithfulness module from a --no-deps copy, without its package __init__."""
    for name, path in (("ferret", root / "ferret"), ("ferret.explainers",
                                                     root / "ferret" / "explainers")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    sys.path.insert(0, str(root))
    measures = importlib.import_module("ferret.evaluators.faithfulness_measures")
    explanation = importlib.import_module("ferret.explainers.explanation")

    def top_k(scores, k, only_pos=True):
        """ferret's `_get_id_tokens_top_k`, its `id_top_k == []` test (an error on an array
        under numpy 2) ported; the selection is unchanged."""
        ids = np.array(scores).argsort()[-k:][::-1]
        if only_pos:
            ids = [i for i in ids if scores[i] > 0]
        return list(ids) if len(ids) else None

    original = measures._check_and_define_get_id_discrete_rationale_function
    measures._check_and_define_get_id_discrete_rationale_function = (
        lambda based_on: top_k if based_on == "k" else original(based_on))
    return measures, explanation.Explanation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ferret", type=Path, default=Path("/tmp/ferretpkg"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--methods", default="ig,lrp,gradient-x-input")
    args = parser.parse_args()
    measures, FerretExplanation = ferret_evaluators(args.ferret)  # noqa: N806
    loaded = load_model(args.model or default_model(), task="classification")
    texts = [ex.text for ex in load_dataset("sst2", "validation")][:args.n]
    comp_eval = measures.AOPC_Comprehensiveness_Evaluation(loaded.model, loaded.tokenizer)
    suff_eval = measures.AOPC_Sufficiency_Evaluation(loaded.model, loaded.tokenizer)
    result = {}
    for method in args.methods.split(","):
        exps = explain(texts, model=loaded, method=method, progress=False)
        ours = erasure(loaded, exps, method)
        pairs: dict[str, list[tuple[float, float]]] = {"comprehensiveness": [],
                                                       "sufficiency": []}
        with timed() as t:
            for n, exp in enumerate(exps):
                content = sum(s is not None for s in exp.segments)
                ks = [max(1, math.ceil(f * content)) for f in FRACTIONS]
                first = [i for i, k in enumerate(ks) if k not in ks[:i]]
                removal = {"remove_tokens": True, "based_on": "k",
                           "thresholds": [ks[i] for i in first]}
                ferret_exp = FerretExplanation(exp.text, list(exp.tokens),
                                               np.asarray(exp.scores), method, exp.target_index)
                for kind, evaluator, mine in (
                        ("comprehensiveness", comp_eval, ours.per_text_comprehensiveness[n]),
                        ("sufficiency", suff_eval, ours.per_text_sufficiency[n])):
                    theirs = evaluator.compute_evaluation(
                        ferret_exp, target=exp.target_index, only_pos=False,
                        removal_args=removal).score
                    pairs[kind].append((float(np.mean(mine[first])), float(theirs)))
        row = {"texts": len(texts), "ferret_seconds": t["seconds"]}
        for kind, values in pairs.items():
            a, b = np.array(values).T
            row[kind] = {"textlens_aopc": float(a.mean()), "ferret_aopc": float(b.mean()),
                         "max_abs_difference_per_text": float(np.abs(a - b).max()),
                         "texts_within_0.001": int((np.abs(a - b) <= 1e-3).sum()),
                         "pearson_per_text": float(np.corrcoef(a, b)[0, 1])}
        result[method] = row
        print(method, row)
    record("faithfulness_reference", f"sst2_validation_first{args.n}", result)


if __name__ == "__main__":
    main()
