"""Chunks of attribution work on CPU worker threads, one intra-op thread each.

Why: a short text's matrices are small, so N single-threaded passes side by side keep N cores
busier than one pass split N ways (measured 1.14x on 2 cores; `bench/results/`). PyTorch
releases the GIL inside its ops and runs concurrent backward passes from several threads, and
chunks share nothing but the frozen model, so results do not depend on the worker count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
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
