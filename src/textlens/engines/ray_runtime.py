"""The Ray side shared by every Ray engine: start or join a runtime, size the actor pool, stream
results back, and the one error a user sees when the `ray` extra is missing.

Ray is imported inside the functions only (an optional extra; `import textlens` stays instant).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from textlens.errors import TextlensError

if TYPE_CHECKING:
    from textlens.models.loading import LoadedModel

MIN_RAY = (2, 51)  # ActorPoolStrategy(size=...) replaces the `concurrency=` argument deprecated in 2.51
INSTALL_HINT = "pip install 'textlens[ray]'"


class EngineError(TextlensError):
    """The Ray engine cannot run: Ray missing or too old, or no cluster at the given address."""


def require_ray() -> ModuleType:
    """`ray` with Ray Data, or a one-paragraph error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra is ray[data]: pyarrow, pandas, fsspec)
    except ImportError as exc:
        raise EngineError(
            f"--engine ray needs Ray with Ray Data, which is not installed in this Python "
            f"environment ({exc}).",
            f"install the optional extra with `{INSTALL_HINT}` (Ray {MIN_RAY[0]}.{MIN_RAY[1]} or "
            "newer) here and on every node of the cluster, or run with --engine local.") from exc
    version = tuple(int(p) for p in ray.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_RAY:
        raise EngineError(f"Ray {ray.__version__} is too old for --engine ray.",
                          f"upgrade with `{INSTALL_HINT}` (Ray {MIN_RAY[0]}.{MIN_RAY[1]} or newer).")
    return ray


def check_address(address: str | None, timeout_s: float = 5.0) -> None:
    """Refuse an address nothing listens on, at once: Ray itself retries it without end.
    `auto` and None need no check (Ray fails fast when no cluster runs on this machine)."""
    if address in (None, "", "auto", "local"):
        return
    import socket

    target = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise EngineError(
            f"No Ray cluster answers at '{address}' ({exc}).",
            "check the head's address and port (`ray status` on the head prints it; 6379 for "
            "`ray start --head`, 10001 for ray://), use `auto` on a cluster node, or leave out "
            "--ray-address to start a local Ray runtime.") from exc


@dataclass(frozen=True)
class Cluster:
    """What the runtime offers: logical CPUs and GPUs over all its nodes."""

    cpus: float
    gpus: float
    address: str  # "local" for a runtime this process started


@contextmanager
def ray_session(address: str | None = None) -> Iterator[Cluster]:
    """Join the runtime this process already has, or start a local one (address None), or join a
    cluster (`auto`, `host:6379`, `ray://host:10001`). A runtime started here is shut down after."""
    ray = require_ray()
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EngineError(
                f"Cannot join a Ray cluster at '{address}': {exc}.",
                "start one first (`ray start --head` on the head node, `ray start --address "
                "HEAD:6379` on each worker), pass its address, or leave out --ray-address to "
                "start a local Ray runtime.") from exc
        started = True
    _quiet_ray_data()
    try:
        resources = ray.cluster_resources()
        yield Cluster(float(resources.get("CPU", 0)), float(resources.get("GPU", 0)),
                      address or "local")
    finally:
        if started:
            ray.shutdown()


def _quiet_ray_data() -> None:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # textlens draws its own bar over the results
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "bars disabled"


def model_directory(loaded: LoadedModel) -> str:
    """Ray actors load the model themselves, so it must be a directory they can read."""
    if not Path(loaded.source).is_dir():
        raise EngineError(
            f"The Ray engine loads the model in every actor from its directory, but "
            f"'{loaded.source}' is not a directory on this machine.",
            "pass --model as a model directory (`save_pretrained` / `textlens train` output) on "
            "a file system every Ray node can read, or use --engine local.")
    return str(Path(loaded.source).resolve())


@dataclass(frozen=True)
class ActorSizing:
    """The actor pool of one `map_batches`: how many actors and what each reserves."""

    actors: int
    num_cpus: float  # logical CPUs reserved per actor (a scheduling claim)
    num_gpus: float
    threads: int  # torch threads per actor (the physical cores it is meant to use)

    @property
    def device(self) -> str:
        return "cuda" if self.num_gpus > 0 else "cpu"

    def map_batches_args(self) -> dict[str, Any]:
        """`compute=ActorPoolStrategy(size=...)` (not the deprecated `concurrency=`) and resources.

        Fault tolerance is Ray Data's default for actor pools (`max_restarts=-1`,
        `max_task_retries=-1`): an actor that dies (OOM, lost node) is restarted and its batch
        rerun. Setting finite values would need `ray_remote_args`, deprecated in Ray 2.60.
        """
        import ray.data

        args: dict[str, Any] = {
            "compute": ray.data.ActorPoolStrategy(size=self.actors),
            "num_cpus": self.num_cpus}
        if self.num_gpus > 0:
            args["num_gpus"] = self.num_gpus
        return args


def size_actors(cluster: Cluster, workers: int | None = None, use_gpu: bool = True) -> ActorSizing:
    """Size the pool so the actors can never claim every CPU.

    Ray Data's read and split tasks need a free logical CPU each; a pool whose actors reserve all
    of them (2 actors x 1 CPU on a 2-CPU runtime) leaves the reads unscheduled and the pipeline
    hangs. So one CPU (half, on a 1-CPU runtime) stays free and the actors share the rest as
    fractional claims, while each still runs `threads` torch threads: on 2 CPUs, 2 actors claim
    0.5 CPU each and run 1 thread each. With GPUs: one actor per GPU by default.
    """
    cpus = max(cluster.cpus, 1.0)
    reserve = 1.0 if cpus >= 2 else cpus / 2
    budget = cpus - reserve
    if use_gpu and cluster.gpus >= 1:
        actors = workers or int(cluster.gpus)
        num_gpus = _claim(min(1.0, cluster.gpus / actors))
        return ActorSizing(actors, _claim(min(1.0, budget / actors)), num_gpus, 1)
    actors = workers or max(1, int(cpus))
    threads = max(1, int(cpus) // actors)
    return ActorSizing(actors, _claim(min(float(threads), budget / actors)), 0.0, threads)


def _claim(value: float) -> float:
    """Ray takes fractions below 1 in steps of 1e-4 and whole numbers above 1."""
    if value >= 1:
        return float(math.floor(value))
    return max(1e-4, math.floor(value * 1e4) / 1e4)


def stream_batches(dataset: Any, total: int, description: str, batch_format: str = "pandas",
                   count: Callable[[Any], int] = len) -> Iterator[Any]:
    """The dataset's output batches as they complete (any order), under a progress bar that
    advances by `count(batch)` (rows by default) up to `total`. An error raised by textlens in
    an actor (a bad model directory, say) reaches the user as that error, not a Ray traceback."""
    import ray

    from textlens.progress import progress_bar, progress_enabled

    batches = iter(dataset.iter_batches(batch_size=None, batch_format=batch_format))
    try:
        if not progress_enabled():
            yield from batches
            return
        with progress_bar() as bar:
            task = bar.add_task(description, total=total)
            for batch in batches:
                yield batch
                bar.advance(task, count(batch))
    except ray.exceptions.RayTaskError as exc:
        cause = _textlens_cause(exc)
        if cause is not None:
            raise cause from None
        raise
    finally:
        close = getattr(batches, "close", None)
        if close is not None:  # end the Ray Data job while the runtime is up (early exit too)
            close()


def _textlens_cause(exc: BaseException) -> TextlensError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TextlensError):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    return None
