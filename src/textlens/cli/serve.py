"""`textlens serve`: the local web dashboard over one or more runs."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Annotated

import typer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    runs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders written by "
                                               "`textlens analyze` or `textlens corpus`.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind. Anything but 127.0.0.1 exposes the "
                                            "runs' data to the network.")] = "127.0.0.1",
    model: Annotated[Path | None, typer.Option(
        "--model", help="Model directory for on-demand explanations (default: each run's own).")
    ] = None,
) -> None:
    """Explore runs in the browser: population map, selections, samples, label review."""
    from rich.console import Console

    from textlens.errors import InputError
    from textlens.serve.runs import open_runs

    if not 0 < port < 65536:
        raise InputError(f"Port {port} is not a TCP port.", "pass --port between 1 and 65535.")
    opened = open_runs(runs)
    console = Console(stderr=True)
    loopback = host in LOOPBACK or _is_loopback(host)
    if not loopback:
        console.print(f"[bold yellow]Warning:[/] listening on {host}: anyone who can reach this "
                      "machine can read these runs' data and write reviews. There is no login.",
                      highlight=False)
    _check_port(host, port)
    import uvicorn

    from textlens.serve.app import create_app

    application = create_app(opened, str(model) if model else None, loopback=loopback, warm=True)
    shown = f"[{host}]" if ":" in host else host
    for name in opened:
        console.print(f"textlens: http://{shown}:{port}/?run={name}", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level="warning")


def serve_command(run: str | Path) -> str:
    """The `textlens serve RUN` line to print, runnable as shown: the running `textlens` by its
    absolute path, so it works outside the virtual environment too (a bare `textlens` is only
    on the PATH inside it)."""
    import shlex
    import shutil
    import sys

    program = Path(sys.argv[0])
    if program.name == "textlens" and program.exists():
        command = str(program.absolute())
    else:  # run as python -m or from a test: the textlens beside this Python, if any
        beside = Path(sys.executable).parent / "textlens"
        command = str(beside) if beside.exists() else (shutil.which("textlens") or "textlens")
    return f"{shlex.quote(command)} serve {shlex.quote(str(run))}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    from textlens.errors import InputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(f"Cannot listen on {host}:{port} ({exc.strerror}).",
                             "pass another --port, or stop the program using this one.") from None
