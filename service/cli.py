"""``slotfill serve MODEL_DIR``: check the settings and the model folder, then run uvicorn.

Everything that can be wrong (settings, model folder, device) is found before the port is bound,
and ends with one ``slotfill: error: ...`` line and a non-zero exit status. Only argparse is
imported here at module level, so ``slotfill --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slotfill.model.predictor import Backend


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {port}")
    return port


def _workers(value: str) -> int:
    workers = int(value)
    if workers < 1:
        raise argparse.ArgumentTypeError(f"need at least 1 worker, got {workers}")
    return workers


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        type=Path,
        nargs="?",
        help="model folder written by `slotfill train` (default: SLOTFILL_MODEL_PATH, as in the container)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: all interfaces)")
    parser.add_argument("--port", type=_port, default=8000)
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes, each with its own model copy and metrics (default 1)",
    )
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: SLOTFILL_DEVICE or auto)")
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        help="onnx (ONNX Runtime), torch, or auto: onnx when the folder has a current "
        "`slotfill export --onnx` graph and the device is the CPU (default: SLOTFILL_BACKEND or auto)",
    )
    parser.epilog = (
        "Other settings come from SLOTFILL_* environment variables (see README: service), e.g. "
        "SLOTFILL_API_KEY, SLOTFILL_MAX_TEXT_CHARS, SLOTFILL_BATCH_WAIT_MS, SLOTFILL_LOG_FORMAT."
    )


def add_parsers(commands: Any) -> None:
    """Add the ``serve`` subcommand to ``slotfill``'s subparsers."""
    serve: argparse.ArgumentParser = commands.add_parser("serve", help="run the REST API on a model folder")
    add_serve_arguments(serve)
    serve.set_defaults(run=run_serve)


EXAMPLE = "arrive Taipei on November 2nd"


def ready_banner(host: str, port: int, api_key: bool) -> str:
    """What a person starting the service wants next: the demo page and a curl line to paste.

    >>> print(ready_banner("0.0.0.0", 8000, api_key=False).splitlines()[1])
      demo page: http://127.0.0.1:8000/
    """
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    auth = ' -H "Authorization: Bearer $SLOTFILL_API_KEY"' if api_key else ""
    return "\n".join(
        (
            "slotfill is ready.",
            f"  demo page: {url}/",
            f"  OpenAPI:   {url}/openapi.json",
            f"  try:       curl -s {url}/v1/parse -H 'Content-Type: application/json'{auth} "
            f'-d \'{{"text": "{EXAMPLE}"}}\'',
        )
    )


def _load_problem(model: str, device: str, backend: Backend) -> tuple[str, str, str] | None:
    """In a child process: load the model and say what is wrong with it, if anything."""
    from slotfill.model.artifact import ArtifactError
    from slotfill.model.predictor import Predictor

    try:
        Predictor.load(Path(model), device, backend)
    except ArtifactError as error:
        return ("artifact", str(error.path), str(error).removeprefix(f"{error.path}: "))
    except ValueError as error:
        return ("value", "", str(error))
    return None


def _check_model_elsewhere(model: Path, device: str, backend: Backend) -> None:
    """Load the model once in a spawned process and raise its error here, as loading it here would."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        problem = pool.apply(_load_problem, (str(model), device, backend))
    if problem is None:
        return
    kind, path, reason = problem
    if kind == "artifact":
        from slotfill.model.artifact import ArtifactError  # torch, but only on the way out

        raise ArtifactError(Path(path), reason)
    raise ValueError(reason)


def run_serve(args: argparse.Namespace) -> int:
    """Validate, load the model once (errors before binding), then serve until SIGINT/SIGTERM.

    Raises SettingsError (a ValueError) for bad settings and ArtifactError for a bad model folder.
    """
    import uvicorn

    from slotfill.service import binding, workers
    from slotfill.service.log import configure_logging
    from slotfill.service.protocol import GuardedHttpToolsProtocol
    from slotfill.service.settings import load_settings

    overrides: dict[str, Any] = {}
    if args.model is not None:
        overrides["model_path"] = args.model
    if args.device is not None:
        overrides["device"] = args.device
    if args.backend is not None:
        overrides["backend"] = args.backend
    settings = load_settings(**overrides)
    if args.workers > 1:
        # Each worker loads its own copy; the master only checks the folder, in a throwaway process,
        # so it never holds torch and a model (about 250 MiB) just to supervise.
        _check_model_elsewhere(settings.model_path, settings.device, settings.backend)
        predictor = None
    else:
        from slotfill.model.predictor import Predictor  # torch: never in the --workers supervisor

        predictor = Predictor.load(
            settings.model_path, settings.device, settings.backend, settings.torch_threads
        )
    configure_logging(settings.log_format, settings.log_level)
    options: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        # Header size, header count and read deadlines (service.protocol), and the bounds uvicorn has.
        "http": GuardedHttpToolsProtocol,
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.max_connections,
    }
    if predictor is not None:
        from slotfill.service.main import create_app

        sock = binding.listen_alone(args.host, args.port)  # a taken port fails here, before "ready"
        banner = ready_banner(args.host, sock.getsockname()[1], settings.api_key is not None)
        app = create_app(settings, predictor, on_ready=lambda: print(banner, flush=True))
        return _run_until_stopped(uvicorn.Server(uvicorn.Config(app, **options)), sock)
    sockets = binding.listen_for_workers(args.host, args.port, args.workers) if workers.supported() else []
    port = sockets[0].getsockname()[1] if sockets else args.port
    banner = ready_banner(args.host, port, settings.api_key is not None)
    loading = f"  ({args.workers} workers are loading the model; GET /readyz answers 200 once one is ready)"
    print(f"{banner}\n{loading}", flush=True)
    # Each worker process builds its own app from the environment.
    os.environ["SLOTFILL_MODEL_PATH"] = str(settings.model_path.resolve())
    os.environ["SLOTFILL_DEVICE"] = settings.device
    os.environ["SLOTFILL_BACKEND"] = settings.backend
    if sockets:
        return workers.serve_workers(sockets, options)
    # Without SO_REUSEPORT (not Linux): uvicorn's own workers on one shared socket.
    uvicorn.run(workers.APP, factory=True, workers=args.workers, host=args.host, port=args.port, **options)
    return 0


def _run_until_stopped(server: Any, sock: Any) -> int:
    """Serve on ``sock`` until SIGTERM or SIGINT, then drain; 0 after a clean stop either way.

    uvicorn re-raises the signal it stopped on once it has drained, which under the default
    handlers ended the process by SIGTERM (status 143) or with a KeyboardInterrupt: the handlers
    installed here take that re-raised signal, so both stops exit 0, as ``--workers`` does.
    """
    stopped: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stopped.append(signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return 0 if server.started or stopped else 1
