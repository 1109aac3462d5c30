"""Two label-noise benchmark results side by side: did a change move any ranking?

    python bench/label_noise_compare.py BEFORE.json AFTER.json [--key NAME]

Reads two bench/label_noise.py results (either file shape: `common.result`), prints a markdown
table of precision@K and AUROC per ranking and kind, before -> after, and records it with the
largest absolute difference in bench/results/label_noise_before_after.json under --key.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import record, result


def compare(before: dict, after: dict) -> dict:
    """{kind: {ranking: {metric: [before, after]}}} for every metric both runs have, and the
    largest absolute difference over all of them."""
    rows: dict = {}
    largest = 0.0
    for kind, b in before["kinds"].items():
        a = after["kinds"][kind]
        rows[kind] = {}
        for name, metrics in b["metrics"].items():
            pairs = {m: [v, a["metrics"][name][m]] for m, v in metrics.items()}
            largest = max([largest] + [abs(x - y) for x, y in pairs.values()])
            rows[kind][name] = pairs
    return {"rankings": rows, "largest_absolute_difference": largest,
            "seconds_before": before["kinds"]["uniform"]["seconds"],
            "seconds_after": after["kinds"]["uniform"]["seconds"]}


def table(found: dict) -> str:
    kinds = list(found["rankings"])
    lines = ["| SST-2 ranking | " + " | ".join(f"{k} before -> after" for k in kinds)
             + " | seconds before -> after (uniform) |", "|---|" + "---|" * (len(kinds) + 1)]
    for name in found["rankings"][kinds[0]]:
        cells = []
        for k in kinds:
            p, auc = found["rankings"][k][name]["precision_at_k"], found["rankings"][k][name]["auroc"]
            cells.append(f"{p[0]:.3f} ({auc[0]:.3f}) -> {p[1]:.3f} ({auc[1]:.3f})")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {found['seconds_before'][name]:.2f}"
                     f" -> {found['seconds_after'][name]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--key", default="classification")
    args = parser.parse_args()
    runs = [result(json.loads(p.read_text())["classification"]) for p in (args.before, args.after)]
    found = compare(*runs)
    found.update(before=str(args.before), after=str(args.after),
                 seeds=[r["seeds"] for r in runs])
    print(table(found))
    print("largest absolute difference:", found["largest_absolute_difference"])
    print("wrote", record("label_noise_before_after", args.key, found))


if __name__ == "__main__":
    main()
