"""Classification metrics: accuracy, macro-F1 and the confusion matrix (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_scores(gold: Sequence[int], predicted: Sequence[int],
                          label_names: Sequence[str]) -> dict[str, object]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(range(len(label_names)))
    gold_arr, pred_arr = np.asarray(gold), np.asarray(predicted)
    return {
        "accuracy": float(accuracy_score(gold_arr, pred_arr)),
        "macro_f1": float(f1_score(gold_arr, pred_arr, labels=labels, average="macro",
                                   zero_division=0)),
        "n": int(len(gold_arr)),
        "labels": list(label_names),
        "confusion_matrix": confusion_matrix(gold_arr, pred_arr, labels=labels).tolist(),
    }
