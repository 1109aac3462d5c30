"""Sentence segmentation of UN speeches, measured: records bench/results/corpus_segmentation.json
(key "report", through bench/common.py).

    python bench/corpus_segmentation.py

Gold: tests/data/ungdc_sentence_boundaries.jsonl, 54 hand-checked UNGDC passages (24 seeded
random passages of ~1,500 characters, 30 seeded lines around abbreviations such as Mr., Dr.,
U.S., i.e., St., No.), each with the original-text offsets where a sentence starts. Scored, on
boundaries strictly inside each passage: the splitter textlens had (`split_sentences` on the raw
text), the same rules after cleaning (`segment(..., "rules")`) and pysbd after the same cleaning
(`segment(..., "pysbd")`); speed on the first 100 speeches.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from common import record, timed  # noqa: E402  (after the paths it needs)

GOLD = ROOT / "tests" / "data" / "ungdc_sentence_boundaries.jsonl"


def systems():
    from textlens.corpus.segment import segment
    from textlens.corpus.sentences import split_sentences

    return {"raw split_sentences (before)": split_sentences,
            "rules (cleaned)": lambda t: segment(t, "rules"),
            "pysbd 0.3.4 (cleaned)": lambda t: segment(t, "pysbd")}


def score(data_dir: Path) -> dict:
    rows = [json.loads(x) for x in GOLD.read_text(encoding="utf-8").splitlines()]
    texts: dict[str, str] = {}
    out = {}
    for name, split in systems().items():
        tp = fp = fn = 0
        errors = []
        for row in rows:
            if row["path"] not in texts:
                texts[row["path"]] = (data_dir / "ungdc" / row["path"]).read_text(
                    encoding="utf-8").lstrip("\ufeff")
            text = texts[row["path"]]
            predicted = {s.start for s in split(text) if row["start"] < s.start < row["end"]}
            gold = set(row["boundaries"])
            tp += len(predicted & gold)
            fp += len(predicted - gold)
            fn += len(gold - predicted)
            errors += [("extra", text[max(0, b - 40):b + 30]) for b in sorted(predicted - gold)]
            errors += [("missed", text[max(0, b - 40):b + 30]) for b in sorted(gold - predicted)]
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        out[name] = {"precision": round(precision, 4), "recall": round(recall, 4),
                     "f1": round(2 * precision * recall / (precision + recall), 4),
                     "tp": tp, "fp": fp, "fn": fn, "errors": errors[:40]}
    out["gold"] = {"passages": len(rows), "boundaries": sum(len(r["boundaries"]) for r in rows)}
    return out


def speed(data_dir: Path, n_docs: int = 100) -> dict:
    from textlens.corpus.ingest import ingest

    corpus = ingest(data_dir / "ungdc")
    texts = [corpus.read(d).text for d in corpus.documents[:n_docs]]
    result = {}
    for name, split in systems().items():
        with timed() as t:
            n = sum(len(split(text)) for text in texts)
        seconds = t["seconds"]
        result[name] = {"documents": n_docs, "sentences": n, "seconds": round(seconds, 2),
                        "sentences_per_s": round(n / seconds)}
    return result


def main() -> None:
    data_dir = Path(os.environ.get("TEXTLENS_DATA", ROOT.parent / "shared" / "data"))
    result = {"accuracy": score(data_dir), "speed": speed(data_dir),
              "note": "shared 2-core machine; speed figures are upper bounds on time"}
    record("corpus_segmentation", "report", result)
    for name, r in result["accuracy"].items():
        if name != "gold":
            print(f"{name}: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} "
                  f"({r['fp']} extra, {r['fn']} missed); "
                  f"{result['speed'][name]['sentences_per_s']} sentences/s")


if __name__ == "__main__":
    main()
