"""`textlens explain` (one text, a file of texts, or a REPL) and `textlens methods`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from textlens.cli.options import Device, IdCol, ModelOpt, TextCol
from textlens.errors import InputError

if TYPE_CHECKING:
    from textlens.attribution.options import ExplainOptions, Gold


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
    app.command("methods")(methods_command)


def methods_command() -> None:
    """List the attribution methods, one line each."""
    from rich.console import Console

    from textlens.attribution.registry import list_methods

    console = Console()
    for name, line in list_methods().items():
        console.print(f"[bold]{name:<17}[/]{line}", highlight=False)


def explain_command(
    text: Annotated[str | None, typer.Argument(help="Text to explain (classification).")] = None,
    model: ModelOpt = None,
    method: Annotated[str, typer.Option(help="Attribution method (see `textlens methods`).")]
    = "ig",
    target: Annotated[str | None, typer.Option(
        help="Classification: predicted, a class name/index, top-K. QA: predicted or gold.")]
    = None,
    score: Annotated[str | None, typer.Option(
        help="probability or logit (default: probability for classification, logit for QA).")]
    = None,
    part: Annotated[str, typer.Option(help="QA: start, end or both.")] = "both",
    question: Annotated[str | None, typer.Option(help="QA question.")] = None,
    context: Annotated[str | None, typer.Option(help="QA context.")] = None,
    label: Annotated[str | None, typer.Option(help="Gold label (for --method loss).")] = None,
    gold_answer: Annotated[str | None, typer.Option(
        help="Gold answer text in the context (QA --method loss or --target gold).")] = None,
    steps: Annotated[int | None, typer.Option(help="IG: fixed steps (default adaptive).")]
    = None,
    tolerance: Annotated[float | None, typer.Option(help="IG: completeness tolerance.")] = None,
    max_evals: Annotated[int | None, typer.Option(
        "--max-evals", help="shap/lime: model evaluations per explanation (budget).")] = None,
    seed: Annotated[int | None, typer.Option(help="shap/lime: random seed.")] = None,
    aggregate: Annotated[str, typer.Option(help="Token->word: sum, mean or max-abs.")] = "sum",
    truncate: Annotated[bool, typer.Option(
        help="Cut an over-long text (announced). QA: long contexts are windowed anyway.")]
    = False,
    doc_stride: Annotated[int | None, typer.Option(
        "--doc-stride", help="QA: tokens shared by the windows of a long context "
        "(default: as the model was trained, else 128).")] = None,
    html: Annotated[Path | None, typer.Option(help="Write an HTML page.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write a bar chart PNG.")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write JSON (- = stdout).")]
    = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="Table of texts.")] = None,
    text_col: TextCol = None,
    id_col: IdCol = None,
    out: Annotated[Path | None, typer.Option(help="JSONL output for --input (resumable).")]
    = None,
    interactive: Annotated[bool, typer.Option(help="Explain what you type; quit exits.")]
    = False,
    device: Device = "auto",
) -> None:
    """Explain a prediction: which words drove it (with completeness evidence for IG)."""
    from textlens.attribution.options import ExplainOptions
    from textlens.cli.options import check_device, check_output, model_source
    from textlens.models.loading import load_model

    # Everything the user typed is checked before the model loads (seconds) or any work, by
    # the library's own checks (`ExplainOptions.check`, then `check_for` once it is loaded).
    source = model_source(model)
    method_options = {k: v for k, v in (("steps", steps), ("tolerance", tolerance),
                                        ("max_evals", max_evals), ("seed", seed))
                      if v is not None}
    request = ExplainOptions(method=method, score=score, parts=part,  # type: ignore[arg-type]
                             aggregation=aggregate, truncate=truncate,  # type: ignore[arg-type]
                             doc_stride=doc_stride, progress=False,
                             method_options=method_options)
    request.check()
    for path, option in ((html, "--html"), (png, "--png"), (json_out, "--json"), (out, "--out")):
        check_output(path, option)
    if input_file is not None and out is None:
        raise InputError("--input needs --out OUT.jsonl.", "add --out explanations.jsonl.")
    check_device(device)
    loaded = load_model(source, device=device)
    if loaded.task != "qa" and (question is not None or context is not None):
        raise InputError(f"The model {loaded.source} is a classifier "
                         f"({', '.join(loaded.label_names)}): --question and --context are for "
                         "QA models.", 'explain a text: textlens explain "TEXT" --model DIR, or '
                         "pass a QA model (e.g. one from `textlens train qa`).")
    if target is not None:
        request = replace(request, target=int(target) if loaded.task == "classification"
                          and target.isdigit() else target)
    request.check_for(loaded)
    if input_file is not None:
        _batch(loaded, input_file, text_col, id_col, out, request, html)
    elif interactive:
        _repl(loaded, request)
    else:
        result = _single(loaded, text, question, context, label, gold_answer, request)
        _emit(result, html, png, json_out)


def _gold(loaded, label: str | None, context: str | None, gold_answer: str | None) -> Gold:
    from textlens.attribution.options import Gold

    if loaded.task == "classification" and label is not None:
        from textlens.models.heads import class_names, head_kind

        # A one-logit model's classes are ("not NAME", NAME), as `explain` numbers them.
        names = class_names(head_kind(loaded.model.config), loaded.label_names)
        index = int(label) if label.isdigit() else list(names).index(label) \
            if label in names else None
        if index is None:
            raise InputError(f"Unknown label '{label}'.",
                             f"use an index or one of {', '.join(names)}.")
        return Gold(labels=[index])
    if loaded.task == "qa" and gold_answer is not None and context is not None:
        start = context.find(gold_answer)
        if start < 0:
            raise InputError("The gold answer does not occur in the context.",
                             "pass --gold-answer with text copied from the context.")
        return Gold(answers=[(start, start + len(gold_answer))])
    return Gold()


def _single(loaded, text, question, context, label, gold_answer, options: ExplainOptions):
    from textlens.attribution.api import run

    gold = _gold(loaded, label, context, gold_answer)
    if loaded.task == "qa":
        if question is None or context is None:
            raise InputError(f"The model {loaded.source} is a QA model: it needs --question and "
                             "--context" + (", not a text argument." if text else "."),
                             'pass --question "..." --context "...", or a classification model.')
        return run([(question, context)], loaded, options, gold)[0]
    if text is None:
        raise InputError("No text to explain.",
                         'pass it as an argument: textlens explain "TEXT" --model DIR, or use '
                         "--input FILE / --interactive.")
    return run([text], loaded, options, gold)[0]


def _emit(result, html: Path | None, png: Path | None, json_out: str | None) -> None:
    from rich.console import Console

    from textlens.attribution.explanation import Explanation, MultiExplanation, QAExplanation
    from textlens.report.terminal import render
    from textlens.store.files import atomic_write_text

    if json_out == "-":
        typer.echo(result.to_json(indent=2))
    else:
        console = Console()
        for line in render(result):
            console.print(line)
    if json_out not in (None, "-"):
        atomic_write_text(json_out, result.to_json(indent=2) + "\n")
    if html is not None:
        atomic_write_text(html, result.to_html())
    if png is not None:
        from textlens.report.plots import bar_chart

        first: Explanation | None
        if isinstance(result, QAExplanation):
            first = result.start or result.end
        elif isinstance(result, MultiExplanation):
            first = result.parts[0]
        else:
            first = result
        if first is not None:
            bar_chart(first, png)


def _repl(loaded, options: ExplainOptions) -> None:
    from rich.console import Console

    from textlens.attribution.api import run
    from textlens.errors import TextlensError
    from textlens.report.terminal import render

    console = Console()
    console.print("Type a text to explain ('quit' exits).")
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            break
        if line in ("quit", "exit"):
            break
        if not line:
            continue
        try:
            if loaded.task == "qa":
                question, _, context = line.partition("|")
                item: Any = (question.strip(), context.strip())
            else:
                item = line
            for out in render(run([item], loaded, options)[0]):
                console.print(out)
        except TextlensError as exc:
            console.print(f"[red]{exc.problem}[/] {exc.fix or ''}", highlight=False)


def _batch(loaded, input_file: Path, text_col: str | None, id_col: str | None, out: Path,
           options: ExplainOptions, html: Path | None = None, chunk: int = 64) -> None:
    """Explain a table of texts into JSONL (resumable). Rejected rows are reported, as `data
    check` does, and written out with their reason; `--id-col` gives the ids, and the other
    columns are carried to each line as `metadata`. `html`: one page of this run's texts,
    a summary table at the top."""
    from textlens.attribution.api import run
    from textlens.cli.rows import read_table, report_bad_rows
    from textlens.progress import track

    if loaded.task == "qa":
        raise InputError("--input explains classification texts.",
                         "explain QA pairs one at a time or through the Python API.")
    data = read_table(input_file, text_col, id_col)
    done, rejected = _resume(out)
    report_bad_rows(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    todo = [ex for ex in data if str(ex.id) not in done]
    typer.echo(f"{len(done)} already explained, {len(todo)} to go.", err=True)
    batches = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    fresh: dict[str, Any] = {}
    with out.open("a", encoding="utf-8") as handle:
        for row in data.bad_rows:
            if row.where not in rejected:
                handle.write(json.dumps({"id": row.id, "where": row.where, "rejected": row.reason},
                                        ensure_ascii=False) + "\n")
        for batch in track(batches, "Explaining", total=len(batches)):
            results = run([ex.text for ex in batch], loaded, options)
            for ex, res in zip(batch, results, strict=True):
                line = {"id": ex.id, "metadata": dict(ex.metadata), **res.to_dict()}
                handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
                if html is not None:
                    fresh[str(ex.id)] = res
            handle.flush()
    if html is not None:
        from textlens.attribution.explanation import result_from_dict
        from textlens.report.attribution_html import render_collection
        from textlens.store.files import atomic_write_text

        # The page shows every explained row of the table, in its order: the resumed ones read
        # back from the JSONL (a rerun used to write "0 texts"), the new ones as computed.
        page = [(str(ex.id), fresh[str(ex.id)] if str(ex.id) in fresh
                 else result_from_dict(done[str(ex.id)]))
                for ex in data if str(ex.id) in fresh or str(ex.id) in done]
        atomic_write_text(html, render_collection(page, f"textlens: {input_file.name}"))


def _resume(out: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The lines already explained, by id, and places of rejected rows already written; a line
    cut short by an interrupted run is dropped, to be redone."""
    from textlens.store.files import atomic_write_text

    done: dict[str, dict[str, Any]] = {}
    rejected: set[str] = set()
    if not out.exists():
        return done, rejected
    good = []
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            if record.get("rejected"):
                rejected.add(str(record["where"]))
            else:
                done[str(record["id"])] = record
            good.append(line)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            continue
    atomic_write_text(out, "".join(g + "\n" for g in good))
    return done, rejected
