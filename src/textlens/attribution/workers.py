"""Chunks of attribution work on CPU worker threads, one intra-op thread each.

Why: a short text's matrices are small, so N single-threaded passes side by side keep N cores
busier than one pass split N ways (measured 1.14x on 2 cores; `bench/results/`). PyTorch
releases the GIL inside its ops and runs concurrent backward passes from several threads, and
chunks share nothing but the frozen model, so results do not depend on the worker count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from textlens.progress import track

if TYPE_CHECKING:
    import torch

C = TypeVar("C")
R = TypeVar("R")


def default_workers(device: torch.device) -> int:
    """One worker per intra-op thread the process may use on CPU; one on an accelerator, which
    parallelises inside each pass."""
    import torch  # noqa: F811

    return max(1, torch.get_num_threads()) if device.type == "cpu" else 1


@dataclass(frozen=True)
class Batching:
    """How attribution work is cut up: `workers` threads take chunks of at most
    `jobs_per_chunk` jobs (sorted by length); each IG round of a chunk runs all its texts'
    pending rows in passes of at most `max_tokens_per_pass` tokens, padded to the pass's
    longest row, which is at most `pad_slack` longer than its shortest (or 1 token)."""

    max_tokens_per_pass: int
    jobs_per_chunk: int
    pad_slack: float
    workers: int


def batching_for(device: torch.device, max_tokens_per_pass: int | None = None,
                 jobs_per_chunk: int | None = None, pad_slack: float | None = None,
                 workers: int | None = None) -> Batching:
    """Defaults by device, each overridable. CPU: a core is busy from ~1,000 tokens a pass on,
    and padding is paid in full, so passes of 4,096 tokens within 8% of length, 64 jobs a chunk
    (small enough to balance the workers, big enough that late IG rounds still fill a pass).
    Accelerator: one worker, every job in one chunk and 65,536-token passes, since a GPU is
    starved by small passes and Python, not by padding (an H100 ran IG at 10% of its bare
    forward+backward ceiling with 16-job chunks; /work/shared/notes/gpu.md)."""
    cpu = device.type == "cpu"
    return Batching(
        max_tokens_per_pass or (4096 if cpu else 65536),
        jobs_per_chunk or (64 if cpu else 1 << 20),
        (0.08 if cpu else 1.0) if pad_slack is None else pad_slack,
        default_workers(device) if workers is None else workers)


def even_chunks(lengths: Sequence[int], jobs_per_chunk: int, workers: int = 1) -> list[list[int]]:
    """Indices sorted longest first, cut into contiguous chunks of near-equal total length
    (what a chunk costs): as many as `jobs_per_chunk` asks, rounded up to a multiple of
    `workers` so that no worker idles at the end while another finishes a long chunk."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    count = math.ceil(len(order) / max(1, jobs_per_chunk))
    if workers > 1:
        count = min(len(order), workers * math.ceil(count / workers))
    total = sum(lengths[i] for i in order)
    chunks: list[list[int]] = [[]] if order else []
    done = 0
    for placed, i in enumerate(order):
        unopened = count - len(chunks)
        if chunks[-1] and unopened > 0 and (
                done >= total * len(chunks) / count or len(chunks[-1]) >= jobs_per_chunk
                or len(order) - placed <= unopened):
            chunks.append([])
        chunks[-1].append(i)
        done += lengths[i]
    return chunks


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Set torch's intra-op thread count and restore it afterwards (it is process-wide)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # OpenMP and MKL thread counts are per thread here


def map_chunks(work: Callable[[C], R], chunks: Sequence[C], workers: int = 1,
               description: str | None = None) -> list[R]:
    """`[work(c) for c in chunks]`, on `workers` threads, with a progress bar when
    `description` is given and there is more than one chunk."""
    show = description is not None and len(chunks) > 1
    if workers <= 1 or len(chunks) <= 1:
        items = track(chunks, description, len(chunks)) if show else chunks  # type: ignore[arg-type]
        return [work(c) for c in items]
    results: list[R | None] = [None] * len(chunks)
    with intra_op_threads(1), ThreadPoolExecutor(min(workers, len(chunks)),
                                                 initializer=_one_thread) as pool:
        futures = {pool.submit(work, c): k for k, c in enumerate(chunks)}
        done = as_completed(futures)
        for future in (track(done, description, len(chunks)) if show else done):  # type: ignore[arg-type]
            results[futures[future]] = future.result()
    return results  # type: ignore[return-value]
