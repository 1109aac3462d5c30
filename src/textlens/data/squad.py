"""SQuAD v1.1 (or any SQuAD-format JSON), split into train/validation by article title.

We only have the official dev set, so textlens makes its own split: the sorted titles are
shuffled with a fixed seed and the first 80% are `train`, the rest `validation`. Splitting by
article (not by question) keeps whole topics out of training, which the latent analysis later
uses to show whether train and validation separate by topic.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path
from typing import Any

from textlens.data.locate import locate
from textlens.data.types import Answer, BadRow, Dataset, QAExample
from textlens.errors import DataError

DEV_URL = "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json"
SPLIT_SEED = 13
TRAIN_FRACTION = 0.8
SPLITS = ("train", "validation", "all")


def load_squad(split: str = "validation", data_dir: str | Path | None = None,
               path: str | Path | None = None) -> Dataset[QAExample]:
    """Load SQuAD from `path`, or from `squad/dev-v1.1.json(.zip)` in the data directory."""
    if split not in SPLITS:
        raise DataError(f"SQuAD has no split '{split}'.", f"use one of {', '.join(SPLITS)}.")
    source = Path(path) if path else _locate_dev(data_dir)
    payload = _read_json(source)
    examples, bad = parse_squad(payload, source.name)
    if not examples and not bad:
        raise DataError(f"'{source}' holds no questions.", "pass a SQuAD file with questions.")
    train_titles = title_split(sorted({e.title for e in examples}))
    kept = []
    for example in examples:
        example_split = "train" if example.title in train_titles else "validation"
        if split in ("all", example_split):
            kept.append(QAExample(example.id, example.title, example.context, example.question,
                                  example.answers, {**example.metadata, "split": example_split}))
    return Dataset("squad", split, tuple(kept), source, None, tuple(bad))


def title_split(titles: list[str], seed: int = SPLIT_SEED,
                train_fraction: float = TRAIN_FRACTION) -> frozenset[str]:
    """The training titles: a seeded shuffle of the sorted titles, first `train_fraction` of them."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    return frozenset(order[: round(len(order) * train_fraction)])


def parse_squad(payload: Any, where: str) -> tuple[list[QAExample], list[BadRow]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise DataError(f"'{where}' is not SQuAD-format JSON (no top-level 'data' list).",
                        "pass a file shaped like the official SQuAD v1.1 JSON.")
    examples: list[QAExample] = []
    bad: list[BadRow] = []
    for number, article in enumerate(payload["data"]):
        if not isinstance(article, dict):
            bad.append(BadRow(f"{where}: data[{number}]", "an article that is not a JSON object"))
            continue
        title = str(article.get("title", ""))
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context", "")
            for qa in paragraph.get("qas", []):
                qid = str(qa.get("id", f"{title}-{len(examples) + len(bad)}"))
                question = str(qa.get("question", "")).strip()
                if not context.strip() or not question:
                    bad.append(BadRow(qid, "empty question or context"))
                    continue
                answers, problem = _answers(qa.get("answers", []), context)
                if problem:
                    bad.append(BadRow(qid, problem))
                    continue
                examples.append(QAExample(qid, title, context, question, answers))
    return examples, bad


def _answers(raw: list[dict], context: str) -> tuple[tuple[Answer, ...], str | None]:
    answers = []
    for item in raw:
        text, start = str(item.get("text", "")), item.get("answer_start")
        if not isinstance(start, int) or context[start:start + len(text)] != text:
            return (), "answer text not found at answer_start in its context"
        answers.append(Answer(text, start))
    if not answers:
        return (), "no answers"
    return tuple(answers), None


def _locate_dev(data_dir: str | Path | None) -> Path:
    try:
        return locate("squad/dev-v1.1.json.zip", None, data_dir)
    except DataError:
        return locate("squad/dev-v1.1.json", DEV_URL, data_dir)


def _read_json(source: Path) -> Any:
    try:
        if source.suffix == ".zip":
            with zipfile.ZipFile(source) as bundle:
                member = next(n for n in bundle.namelist() if n.endswith(".json"))
                raw = bundle.read(member)
        else:
            raw = source.read_bytes()
        if not raw.strip():
            raise DataError(f"'{source}' is empty.", "pass a SQuAD-format JSON file.")
        return json.loads(raw.decode("utf-8-sig"))  # a BOM is fine
    except FileNotFoundError as exc:
        raise DataError(f"SQuAD file '{source}' does not exist.", "check the path.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"'{source}' is not valid UTF-8.", "re-encode it as UTF-8.") from exc
    except zipfile.BadZipFile as exc:
        raise DataError(f"'{source}' is not a readable zip archive.",
                        "download it again, or pass the unzipped JSON.") from exc
    except (json.JSONDecodeError, StopIteration) as exc:
        raise DataError(f"'{source}' holds no readable JSON.", "pass a SQuAD-format JSON file.") \
            from exc
