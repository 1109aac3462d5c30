"""The corpus prediction engine on Ray: the same rows as `LocalEngine`, from a pool of actors.

The documents become a Ray dataset (a few documents a block); a pool of actors, each holding
the model loaded once, segments its documents and classifies their sentences with
`predict_documents`, the function `LocalEngine` runs, so labels are identical and probabilities
agree within float rounding. Rows come back as actors finish; `stream` hands each document over
complete and in document order, so a caller can commit every few documents and a rerun skips
them. An actor that dies mid-batch is restarted by Ray and its batch rerun; rows are keyed by
(document, sentence_id), so a rerun batch can never add a sentence twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from textlens.corpus.engine import Document, EngineOptions, SentenceRow, predict_documents
from textlens.corpus.ingest import Corpus, DocumentInfo
from textlens.engines import EngineChoice
from textlens.engines.ray_runtime import model_directory, ray_session, size_actors, stream_batches
from textlens.errors import InputError
from textlens.models.loading import LoadedModel

EMPTY = -1  # sentence_id of the one marker row of a document without sentences
ROW_FIELDS = ("doc_id", "sentence_id", "text", "start", "end", "label", "confidence",
              "probabilities", "n_tokens", "truncated")


@dataclass(frozen=True)
class DocumentRows:
    """One document's classified sentences, complete; `position` is its index in the call."""

    position: int
    doc_id: str
    rows: tuple[SentenceRow, ...]


class SentenceActor:
    """Ray Data callable class: loads the model once per actor, classifies a block of documents."""

    def __init__(self, source: str, options: EngineOptions, device: str, threads: int,
                 root: str | None = None) -> None:
        import torch

        from textlens.models.loading import load_model

        torch.set_num_threads(threads)
        self.loaded = load_model(source, task="classification", device=device)
        self.options = options  # the frozen options travel pickled, every field as given
        self.corpus = Corpus("ray", Path(root or "."), (), (), ())  # reads like the local run

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        documents = [Document(d, t) if isinstance(t, str) else
                     self.corpus.read(DocumentInfo(d, p, {}, 0))  # read here, in the worker
                     for d, p, t in zip(batch["doc_id"], batch["path"], batch["text"], strict=True)]
        rows = predict_documents(self.loaded, documents, self.options)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.doc_id] = counts.get(row.doc_id, 0) + 1
        records = [{"position": position, "n_sentences": counts.get(doc_id, 0), **_marker(doc_id)}
                   for position, doc_id in zip(batch["position"], batch["doc_id"], strict=True)
                   if doc_id not in counts]
        position = dict(zip(batch["doc_id"], batch["position"], strict=True))
        records += [{"position": position[r.doc_id], "n_sentences": counts[r.doc_id],
                     **{f: getattr(r, f) for f in ROW_FIELDS}} for r in rows]
        frame = pd.DataFrame(records, columns=["position", "n_sentences", *ROW_FIELDS])
        frame["probabilities"] = [list(p) for p in frame["probabilities"]]
        return frame


def _marker(doc_id: str) -> dict:
    """The row that says 'this document has no sentences' (an empty or blank speech)."""
    return {"doc_id": doc_id, "sentence_id": EMPTY, "text": "", "start": 0, "end": 0,
            "label": "", "confidence": 0.0, "probabilities": (), "n_tokens": 0,
            "truncated": False}


@dataclass(frozen=True)
class RayEngine:
    """`SentenceEngine` on Ray: `predict` as the Protocol asks, `stream` for long runs that commit
    as documents complete (one Ray job for the whole corpus; actors start once)."""

    loaded: LoadedModel
    options: EngineOptions = EngineOptions()
    choice: EngineChoice = field(default_factory=lambda: EngineChoice("ray"))
    documents_per_task: int = 4  # ~500 UNGDC sentences: a few seconds of work per Ray task

    def predict(self, documents: Sequence[Document]) -> list[SentenceRow]:
        """Rows ordered by (position of the document in `documents`, sentence_id)."""
        return [row for done in self.stream(documents) for row in done.rows]

    def stream(self, documents: Sequence[Document]) -> Iterator[DocumentRows]:
        """Each document's rows once all of them are in, in document order."""
        table = pd.DataFrame({"doc_id": [d.doc_id for d in documents], "path": "",
                              "text": [d.text for d in documents]})
        yield from self._run(table, None)

    def predict_batches(self, corpus: Corpus, batches: Sequence[Sequence[DocumentInfo]]
                        ) -> Iterator[tuple[Sequence[DocumentInfo], list[SentenceRow]]]:
        """The corpus pipeline's path: one Ray job over every batch's documents, each batch
        handed back with its rows as soon as all its documents are complete, in batch order.
        A folder's documents are read by the actors (from `corpus.root`, which every node must
        see); a table's texts travel with the dataset."""
        infos = [info for batch in batches for info in batch]
        texts = [corpus.texts[i.doc_id] if corpus.texts is not None else None for i in infos]
        table = pd.DataFrame({"doc_id": [i.doc_id for i in infos],
                              "path": [i.path for i in infos], "text": texts})
        done = self._run(table, str(corpus.root.resolve()))
        for batch in batches:
            rows = [row for _ in batch for row in next(done).rows]
            yield batch, rows
        for _ in done:  # let the Ray job finish and the runtime close before returning
            raise RuntimeError("Ray returned more documents than were sent")

    def _run(self, table: pd.DataFrame, root: str | None) -> Iterator[DocumentRows]:
        import ray.data

        self.options.check()
        ids = list(table["doc_id"])
        if len(set(ids)) != len(ids):
            raise InputError("Two documents share a doc_id; rows could not be told apart.",
                             "give every document a unique doc_id.")
        if not ids:
            return
        source = model_directory(self.loaded)
        table = table.assign(position=range(len(table)))
        per_task = max(1, self.documents_per_task)
        blocks = [table.iloc[i:i + per_task] for i in range(0, len(table), per_task)]
        with ray_session(self.choice.ray_address) as cluster:
            sizing = size_actors(cluster, self.choice.workers)
            dataset = ray.data.from_pandas(blocks).map_batches(
                SentenceActor, batch_size=None, batch_format="pandas",
                fn_constructor_kwargs={"source": source, "options": self.options,
                                       "device": sizing.device, "threads": sizing.threads,
                                       "root": root},
                **sizing.map_batches_args())
            batches = stream_batches(dataset, len(ids), "Classifying (Ray)",
                                     count=lambda batch: batch["position"].nunique())
            yield from _in_order(batches, ids)


def _in_order(batches: Iterator[pd.DataFrame], ids: list[str]) -> Iterator[DocumentRows]:
    """Collect rows per document (keyed by sentence_id: a rerun batch cannot duplicate one) and
    release documents, complete, in their order."""
    pending: dict[int, dict[int, SentenceRow]] = {}
    complete: dict[int, tuple[SentenceRow, ...]] = {}
    expected: dict[int, int] = {}
    released = 0
    for batch in batches:
        for record in batch.itertuples(index=False):
            position = int(record.position)
            if position < released or position in complete:
                continue  # already handed over
            expected[position] = int(record.n_sentences)
            rows = pending.setdefault(position, {})
            if int(record.sentence_id) != EMPTY:
                rows[int(record.sentence_id)] = SentenceRow(
                    str(record.doc_id), int(record.sentence_id), str(record.text),
                    int(record.start), int(record.end), str(record.label),
                    float(record.confidence), tuple(float(p) for p in record.probabilities),
                    int(record.n_tokens), bool(record.truncated))
            if len(rows) == expected[position]:
                complete[position] = tuple(rows[k] for k in sorted(rows))
                del pending[position]
        while released in complete:
            yield DocumentRows(released, ids[released], complete.pop(released))
            released += 1
    if released != len(ids):
        raise RuntimeError(f"Ray returned {released} of {len(ids)} documents complete")
