"""Where the heavy per-row work runs: in this process (`local`) or on a Ray cluster (`ray`).

Only the option values live here, so `import textlens` stays instant; Ray itself is imported by
`textlens.engines.ray_runtime`, inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textlens.errors import InputError

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


@dataclass(frozen=True)
class EngineChoice:
    """`engine` local or ray; `ray_address` None starts a local Ray runtime, `auto` joins the
    cluster this machine belongs to, `HOST:6379` or `ray://HOST:10001` a named one; `workers`
    the actor-pool size (None: one actor per GPU, else one single-threaded actor per CPU).

    Checked when made, before any work: an unknown engine, a worker count below 1, Ray options
    with the local engine, `ray` without Ray installed, or an address where no cluster answers
    are refused with the fix.
    """

    engine: Engine = "local"
    ray_address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"Unknown engine '{self.engine}'.",
                             f"use --engine {' or --engine '.join(ENGINES)}.")
        if self.workers is not None and self.workers < 1:
            raise InputError(f"--workers must be 1 or more, not {self.workers}.",
                             "leave it out (one actor per CPU, or per GPU) or pass a positive count.")
        if self.engine == "local" and (self.ray_address is not None or self.workers is not None):
            raise InputError("--ray-address and --workers apply to the Ray engine only.",
                             "add --engine ray, or leave them out.")
        if self.engine == "ray":
            from textlens.engines.ray_runtime import check_address, require_ray

            require_ray()
            check_address(self.ray_address)

    @property
    def on_ray(self) -> bool:
        return self.engine == "ray"


def engine_choice(engine: str = "local", ray_address: str | None = None,
                   workers: int | None = None) -> EngineChoice:
    """The options from CLI strings (an empty address means none)."""
    return EngineChoice(engine, ray_address or None, workers)  # type: ignore[arg-type]


__all__ = ["ENGINES", "Engine", "EngineChoice", "engine_choice"]
