"""Corpus pipeline benchmarks; writes bench/results/corpus.json (one key per part).

    python bench/corpus.py throughput [--docs 40] [--rounds 2]
    python bench/corpus.py full                      # the whole UNGDC folder, end to end
    python bench/corpus.py memory --docs 100         # peak RSS at 1x and 4x (subprocesses)

1. Throughput: `LocalEngine.predict` (segmentation, tokenisation, length batches of 128 under
   inference mode) against a bare batched forward pass of the same model over the same
   sentences, pre-tokenised, sorted by length, batches of 128 (the physical limit), rounds
   interleaved. Target: pipeline time within 1.25x of the bare pass.
2. Full: `textlens.corpus.run` on all of ../shared/data/ungdc with the defaults (60 sentences
   explained, domain check, report): sentence count, wall time of the classification and of
   the whole run, sentences/s, peak RSS. Target: under 10 minutes on 2 cores.
3. Memory: peak RSS of a run (classification and aggregates, no explanations or domain check)
   over N speeches and over 4 x N (each speech repeated under a new id, by symbolic links in
   copies of the folder layout), each in a fresh process.
The machine is shared with other engineers' jobs: each part is recorded with bench/common.py's
machine block (load average at the start and the end), and times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from common import record, timed  # noqa: E402  (after the paths it needs)

MODEL = Path.home() / ".cache" / "textlens" / "models" / "sentiment-minilm"


def data_dir() -> Path:
    return Path(os.environ.get("TEXTLENS_DATA", ROOT.parent / "shared" / "data"))


def save(key: str, value: dict) -> None:
    record("corpus", key, value)
    print(json.dumps({key: value}, indent=2))


def conditions() -> dict:
    return {"note": "shared 2-core CPU machine, other engineers' jobs running: upper bounds"}


def bare_forward(loaded, texts: list[str], batch_size: int = 128) -> float:
    """Seconds for the model's forward passes alone over pre-tokenised, length-sorted batches."""
    import torch

    from textlens.models.predict import length_batches

    enc = loaded.tokenizer(texts, truncation=True, max_length=loaded.max_length)
    batches = [loaded.tokenizer.pad([{k: enc[k][i] for k in enc} for i in batch],
                                    return_tensors="pt")
               for batch in length_batches([len(x) for x in enc["input_ids"]], batch_size)]
    with timed() as t, torch.inference_mode():
        for padded in batches:
            loaded.model(**padded).logits.float().softmax(-1)
    return t["seconds"]


def throughput(n_docs: int, rounds: int) -> None:
    from textlens.corpus.engine import EngineOptions, LocalEngine, segment_documents
    from textlens.corpus.ingest import ingest
    from textlens.models import load_model

    info = conditions()
    loaded = load_model(MODEL)
    corpus = ingest(data_dir() / "ungdc")
    documents = [corpus.read(d) for d in corpus.documents[:: max(1, len(corpus.documents)
                                                                 // n_docs)][:n_docs]]
    texts = [s.text for s in segment_documents(documents)]
    engine = LocalEngine(loaded, EngineOptions())
    engine.predict(documents[:2])  # warm-up
    bare, pipeline = [], []
    for _ in range(rounds):
        bare.append(bare_forward(loaded, texts))
        with timed() as t:
            rows = engine.predict(documents)
        pipeline.append(t["seconds"])
    assert len(rows) == len(texts)
    save("throughput", {**info, "documents": len(documents), "sentences": len(texts),
                        "rounds": rounds, "bare_forward_s": bare, "pipeline_s": pipeline,
                        "bare_sentences_per_s": round(len(texts) / min(bare), 1),
                        "pipeline_sentences_per_s": round(len(texts) / min(pipeline), 1),
                        "ratio_best": round(min(pipeline) / min(bare), 3),
                        "ratio_per_round": [round(p / b, 3) for p, b in zip(pipeline, bare,
                                                                             strict=True)],
                        "target": "ratio <= 1.25"})


def full() -> None:
    from textlens.corpus.pipeline import CorpusOptions, run
    from textlens.models import load_model

    info = conditions()
    out = Path(tempfile.mkdtemp(prefix="corpus-full-"))
    stamps: list[float] = []
    start = time.perf_counter()  # the batch stamps below are on this clock
    with timed() as t:
        result = run(load_model(MODEL), "ungdc", out, CorpusOptions(data_dir=str(data_dir())),
                     on_batch=lambda n: stamps.append(time.perf_counter()), progress=False)
    total = t["seconds"]
    classify = stamps[-1] - start
    save("full", {**info, "documents": result.n_documents, "sentences": result.n_sentences,
                  "bad_files": len(result.bad_files), "classification_s": round(classify, 1),
                  "total_s": round(total, 1),
                  "sentences_per_s_classification": round(result.n_sentences / classify, 1),
                  "sentences_per_s_total": round(result.n_sentences / total, 1),
                  "explained": len(result.explanations), "domain_far": result.domain_far,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "target": "total < 600 s", "run_dir": str(out)})


def memory_child(n_docs: int, factor: int) -> None:
    from textlens.corpus.pipeline import CorpusOptions, run
    from textlens.corpus.sampling import SamplingOptions
    from textlens.models import load_model

    source = data_dir() / "ungdc"
    files = sorted(source.glob("Session */*.txt"))[:n_docs]
    with tempfile.TemporaryDirectory() as tmp:
        for copy in range(factor):  # the same speeches under new ids (paths)
            for file in files:
                link = Path(tmp) / f"copy{copy}" / file.parent.name / file.name
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(file)
        with timed() as t:
            result = run(load_model(MODEL), tmp, Path(tmp) / "run",
                         CorpusOptions(sampling=SamplingOptions(size=0), domain_check=False,
                                       report=False), progress=False)
        seconds = t["seconds"]
    print(json.dumps({"factor": factor, "documents": result.n_documents,
                      "sentences": result.n_sentences, "seconds": round(seconds, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024)}))


def memory(n_docs: int) -> None:
    info = conditions()
    runs = []
    for factor in (1, 4):
        out = subprocess.run([sys.executable, __file__, "memory-child", "--docs", str(n_docs),
                              "--factor", str(factor)], capture_output=True, text=True,
                             check=True, env={**os.environ, "TEXTLENS_PROGRESS": "0"})
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    save("memory", {**info, "runs": runs,
                    "rss_growth_4x_mb": runs[1]["peak_rss_mb"] - runs[0]["peak_rss_mb"]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["throughput", "full", "memory", "memory-child"])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--factor", type=int, default=1)
    args = parser.parse_args()
    if args.part == "throughput":
        throughput(args.docs, args.rounds)
    elif args.part == "full":
        full()
    elif args.part == "memory":
        memory(args.docs)
    else:
        memory_child(args.docs, args.factor)


if __name__ == "__main__":
    main()
