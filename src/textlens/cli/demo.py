"""`textlens demo`: train (once) a sentiment model, then classify UN General Debate sentences."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from textlens.cli.options import DataDir, Seed

if TYPE_CHECKING:
    from textlens.models.loading import LoadedModel


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to write the demo's outputs.")] = Path(
        "outputs/demo"),
    model_dir: Annotated[Path | None, typer.Option(
        "--model-dir", help="Sentiment model to use or create "
        "(default: ~/.cache/textlens/models/sentiment-minilm).")] = None,
    sentences: Annotated[int, typer.Option("--sentences", help="How many sentences.")] = 20,
    seed: Seed = 0,
    data_dir: DataDir = None,
) -> None:
    """Classify a seeded sample of UN General Debate sentences with a cached sentiment model."""
    from rich.console import Console

    from textlens.config import models_cache_dir
    from textlens.data import load_dataset

    console = Console()
    model_dir = model_dir or models_cache_dir() / "sentiment-minilm"
    if not (model_dir / "training.json").exists():
        console.print(f"No sentiment model at {model_dir}: training one on SST-2 "
                      "(300 steps, about 5 minutes on 2 CPU cores, once).", highlight=False)
        _train_sentiment(model_dir, data_dir)
    corpus = load_dataset("ungdc", data_dir=data_dir)
    console.print(corpus.bad_rows_summary(), highlight=False)
    from textlens.models import load_model

    loaded = load_model(model_dir)  # once: classification and explanations share it
    rows = classify_sample(loaded, corpus, sentences, seed)
    _show(console, rows, model_dir)
    written = _write(out, rows, model_dir)
    written.append(_explain(out, rows, loaded))
    console.print(f"Wrote {', '.join(str(p) for p in written)}", highlight=False)


def _train_sentiment(model_dir: Path, data_dir: Path | None) -> None:
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification

    train = load_dataset("sst2", "train", data_dir=data_dir)
    validation = load_dataset("sst2", "validation", data_dir=data_dir)
    train_classification(train, validation, model_dir, TrainConfig(300, 32, 5e-5, 64, 0))


def classify_sample(loaded: LoadedModel, corpus, n: int, seed: int) -> list[dict]:
    """A seeded sample of `n` sentences (8 to 60 words), each from a different speech."""
    import random

    from textlens.corpus import split_sentences
    from textlens.models.predict import predict_classification

    rng = random.Random(seed)
    speeches = rng.sample(list(corpus), min(n, len(corpus)))
    picked = []
    for speech in speeches:
        candidates = [s for s in split_sentences(speech.text) if 8 <= len(s.text.split()) <= 60]
        if candidates:
            sentence = rng.choice(candidates)
            picked.append({"country": speech.metadata.get("country"),
                           "year": speech.metadata.get("year"), "speech": speech.id,
                           "start": sentence.start, "end": sentence.end, "sentence": sentence.text})
    preds = predict_classification(loaded, [p["sentence"] for p in picked], progress=False)
    for row, label, confidence in zip(picked, preds.labels, preds.confidence, strict=True):
        row["label"] = loaded.label_names[int(label)]
        row["confidence"] = round(float(confidence), 4)
    return picked


def _show(console, rows: list[dict], model_dir: Path) -> None:
    import json

    from rich.table import Table

    record = json.loads((model_dir / "training.json").read_text())
    accuracy = record.get("metrics", {}).get("accuracy")
    title = (f"Sentiment of UN General Debate sentences (model: {model_dir}, "
             f"SST-2 validation accuracy {accuracy:.1%})" if accuracy else str(model_dir))
    table = Table("country", "year", "sentence", "label", "confidence", title=title)
    for row in rows:
        colour = "green" if row["label"] == "positive" else "red"
        table.add_row(str(row["country"]), str(row["year"]), row["sentence"],
                      f"[{colour}]{row['label']}[/]", f"{row['confidence']:.3f}")
    console.print(table)


def _explain(out: Path, rows: list[dict], loaded: LoadedModel) -> Path:
    """Integrated-gradients explanations of every sentence, as one escaped HTML page."""
    from html import escape

    from textlens import explain
    from textlens.store.files import atomic_write_text

    explanations = explain([r["sentence"] for r in rows], model=loaded, method="ig")
    sections = []
    for row, exp in zip(rows, explanations, strict=True):
        heading = escape(f"{row['country']} {row['year']} ({row['speech']})")
        sections.append(f"<section><h3>{heading}</h3>{exp.to_html(fragment=True)}</section>")
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            "<title>textlens demo: UN General Debate sentences</title></head><body>"
            "<h1>Why the sentiment model labelled these UN General Debate sentences</h1>"
            "<p>Integrated gradients (adaptive, completeness error at most 1%) on the "
            "probability of the predicted label; green words push towards it, red against.</p>"
            + "".join(sections) + "</body></html>\n")
    return atomic_write_text(out / "explanations.html", page)


def _write(out: Path, rows: list[dict], model_dir: Path) -> list[Path]:
    import json
    from collections import Counter

    from textlens.store.files import atomic_write_json, atomic_write_text

    predictions = out / "predictions.jsonl"
    atomic_write_text(predictions, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    summary = {"model": str(model_dir), "sentences": len(rows),
               "labels": dict(Counter(r["label"] for r in rows))}
    summary_path = atomic_write_json(out / "summary.json", summary)
    return [predictions, summary_path]
