"""`python -m server.worker --scheduler ADDR [--streams N] [--models]`: a machine's worker (cluster mode).

One process that joins the Dask scheduler and runs up to N streams at once (a Dask resource,
`streams=N`), each an ordinary StreamJob on this process's own runtime: outbox to the webapp,
upload spool to GCS, metamodel, PANNs and sentiment models (server/runtime.py). It reads the same
settings as the server (config.py / the environment): INGEST_API_TOKEN, the GCS bucket, segment
length, allow-lists... Keep them the same on every machine.

Its data folder (--data-dir, default DATA_DIR/worker) holds ring buffers, the outbox journal and the
upload spool: one worker per folder (a lock file says so), kept across restarts so that reports
and uploads left behind by a crash are sent when it comes back. When the scheduler goes away the
worker's streams stop (another worker or a new scheduler takes them) and it joins again as soon
as a scheduler answers at the address. SIGTERM/SIGINT: its streams stop and move to other workers.

With --models it also loads PANNs and the sentiment model once and serves them to every stream
worker as a batched model service (a Dask actor, server/model_service.py; the Dask resource
`models`): start it on the GPU machines, with --streams 0 if it should run no stream itself.
Stream workers send their model calls there while one is up, and run them in-process otherwise
(server/model_route.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import signal
from pathlib import Path
from typing import IO

from appconfig import ImproperlyConfigured, check_secret, setting
from server import model_service, stream_task
from server.app import default_config
from server.cleanup import remove_stale_ring_buffers
from server.cluster import check_executor
from server.runtime import build_runtime

log = logging.getLogger("server.worker")

RETRY_S = 2.0  # between attempts to join a scheduler that does not answer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scheduler",
        default=setting("DASK_SCHEDULER", "tcp://127.0.0.1:8786"),
        help="the Dask scheduler's address (default: DASK_SCHEDULER)",
    )
    parser.add_argument(
        "--streams", type=int, default=2, help="streams this worker runs at once (default 2; 0 with --models)"
    )
    parser.add_argument(
        "--models",
        action="store_true",
        help="serve PANNs and the sentiment model to every stream worker (a GPU machine: docs/scaling.md)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="this worker's own folder (default DATA_DIR/worker)"
    )
    parser.add_argument("--name", default=None, help="its name in the cluster (default: its address)")
    parser.add_argument(
        "--host", default=None, help="the address it listens on for the scheduler (default: the one routing to it)"
    )
    args = parser.parse_args(argv)
    if args.streams < (0 if args.models else 1):
        parser.error("--streams must be at least 1 (0 only with --models)")
    return args


def lock_folder(folder: Path) -> IO[str]:
    """Hold DATA_DIR's lock file for the process's life: two workers on one folder would send each
    other's outbox and spool twice."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / "worker.lock", "w")  # held open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another worker uses {folder}: give each worker its own --data-dir") from None
    return handle


async def serve(args: argparse.Namespace, data_dir: Path) -> None:
    """Be a worker of the scheduler at args.scheduler until SIGTERM/SIGINT, joining it again after it restarts."""
    from distributed import Worker

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    while not stopping.is_set():
        try:
            resources = {"streams": args.streams} if args.streams else {}
            if args.models:
                resources[model_service.RESOURCE] = 1
            async with Worker(
                args.scheduler,
                nthreads=max(args.streams, 1),  # one thread per stream task: each runs for the stream's life
                resources=resources,
                name=args.name,
                host=args.host,
                dashboard=False,
                memory_limit=0,  # a stream's memory is bounded by its ring buffer; never pause it
                local_directory=str(data_dir / "dask"),
            ) as worker:
                log.info("worker %s joined %s with %d stream slot(s)", worker.address, args.scheduler, args.streams)
                service = await model_service.host(worker) if args.models else None
                finished = asyncio.ensure_future(worker.finished())
                stop = asyncio.ensure_future(stopping.wait())
                await asyncio.wait({finished, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if service is not None:  # the actor goes with this session; the next one hosts a new one
                    with contextlib.suppress(Exception):
                        await service.close()
                if stopping.is_set():
                    await worker.close()  # its streams see it closing, stop, and run elsewhere
                else:
                    log.warning("lost the scheduler %s; joining it again", args.scheduler)
        except (OSError, TimeoutError) as exc:
            log.warning("cannot join the scheduler %s: %s", args.scheduler, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), RETRY_S)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    config = default_config()
    data_dir = args.data_dir or Path(config["DATA_DIR"]) / "worker"
    config.update(DATA_DIR=data_dir, EXECUTOR="dask")
    try:
        config["INGEST_API_TOKEN"] = check_secret(
            "INGEST_API_TOKEN", config["INGEST_API_TOKEN"], config["DJANGO_DEBUG"]
        )
        check_executor(config)  # clips to GCS: a worker's own disk is no place for them
    except ImproperlyConfigured as exc:
        raise SystemExit(f"server.worker: {exc}") from None
    lock = lock_folder(data_dir)
    remove_stale_ring_buffers(data_dir)  # no stream runs here yet
    if args.models:
        model_service.install(model_service.load_models(config))
    runtime = build_runtime(config, route_models=True) if args.streams else None
    if runtime is not None:
        stream_task.install(runtime)
        runtime.start()
    try:
        asyncio.run(serve(args, data_dir))
    finally:
        if runtime is not None:
            runtime.stop()
        lock.close()


if __name__ == "__main__":
    main()
