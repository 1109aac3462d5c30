"""Ray engine options, actor sizing and the missing-extra error: no Ray runtime is started here,
and these run whether or not Ray is installed (the import failure is simulated)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from textlens.engines import EngineChoice, engine_choice
from textlens.engines.ray_runtime import Cluster, EngineError, require_ray, size_actors
from textlens.errors import InputError


@pytest.fixture
def no_ray(monkeypatch):
    """Make `import ray` fail as it does where the extra is not installed."""
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)


def test_missing_ray_names_the_extra(no_ray):
    with pytest.raises(EngineError) as info:
        require_ray()
    assert "pip install 'textlens[ray]'" in info.value.fix
    assert "--engine local" in info.value.fix
    with pytest.raises(EngineError):
        EngineChoice("ray")  # refused when the options are made, before any work
    assert EngineChoice("local").on_ray is False  # the local engine never needs Ray


def test_cli_without_ray_prints_one_error_and_exits_2(no_ray, tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from textlens.cli.main import main; "
            "sys.argv = ['textlens', 'analyze', '--model', 'm', '--data', 'sst2', '--out', "
            f"{str(tmp_path / 'run')!r}, '--engine', 'ray']; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "pip install 'textlens[ray]'" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (("spark",), "Unknown engine 'spark'"),
    (("local", "auto"), "apply to the Ray engine only"),
    (("local", None, 2), "apply to the Ray engine only"),
])
def test_bad_engine_choices_are_refused(args, message):
    with pytest.raises(InputError, match=message) as info:
        engine_choice(*args)
    assert info.value.fix


def test_address_where_nothing_listens_is_refused_at_once():
    import socket

    from textlens.engines.ray_runtime import check_address

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}", "no-port"):
        with pytest.raises(EngineError, match="No Ray cluster answers") as info:
            check_address(address, timeout_s=2)
        assert "--ray-address" in info.value.fix
    check_address("auto")  # left to Ray, which fails fast without a cluster
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_address(f"127.0.0.1:{server.getsockname()[1]}")


def test_zero_workers_refused_before_ray_is_touched(no_ray):
    with pytest.raises(InputError, match="--workers must be 1 or more"):
        EngineChoice("ray", None, 0)


@pytest.mark.parametrize("cpus", [1.0, 2.0, 3.0, 16.0, 64.0])
@pytest.mark.parametrize("workers", [None, 1, 2, 5])
def test_cpu_actors_always_leave_a_cpu_for_the_read_tasks(cpus, workers):
    sizing = size_actors(Cluster(cpus, 0.0, "local"), workers)
    assert sizing.actors == (workers or int(cpus))
    claimed = sizing.actors * sizing.num_cpus
    free = cpus - claimed
    assert free >= min(1.0, cpus / 2) - 1e-9  # a read task (1 CPU; 0.5 on 1 CPU) always fits
    assert sizing.num_cpus > 0 and sizing.num_gpus == 0 and sizing.device == "cpu"
    assert sizing.num_cpus < 1 or sizing.num_cpus == int(sizing.num_cpus)  # Ray's rule
    assert sizing.threads * sizing.actors <= max(cpus, sizing.actors)  # no oversubscription


def test_two_cpu_runtime_gets_two_single_threaded_half_cpu_actors():
    sizing = size_actors(Cluster(2.0, 0.0, "local"))
    assert (sizing.actors, sizing.num_cpus, sizing.threads) == (2, 0.5, 1)


def test_gpu_actors_one_per_gpu_by_default():
    sizing = size_actors(Cluster(16.0, 4.0, "auto"))
    assert (sizing.actors, sizing.num_gpus, sizing.device) == (4, 1.0, "cuda")
    shared = size_actors(Cluster(16.0, 2.0, "auto"), workers=4)
    assert shared.num_gpus == 0.5 and shared.actors * shared.num_cpus <= 15
    assert size_actors(Cluster(16.0, 4.0, "auto"), use_gpu=False).num_gpus == 0
