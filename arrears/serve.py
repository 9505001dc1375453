"""Serving: the worker and the API in one asyncio loop, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from arrears.audit_sequencer import Sequencer
from arrears.channels import Channels
from arrears.runtime import Services
from arrears.temporal import build_worker, ensure_schedules


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process-wide handler stops everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(svc: Services) -> uvicorn.Server:
    """A uvicorn server for the API on the configured host and port."""
    app = create_app(settings=svc.settings, db=svc.db, intake=svc.intake)
    config = uvicorn.Config(
        app,
        host=svc.settings.api_host,
        port=svc.settings.api_port,
        log_level="warning",
        access_log=False,
    )
    return _Server(config)


async def serve(svc: Services, *, worker: bool = True, api: bool = True) -> None:
    """Run until a signal arrives or a part fails; then stop every part."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    parts: list[asyncio.Task[None]] = []
    temporal_worker = None
    sequencer = None
    if worker:
        # the audit log's sequencer runs beside every worker; its lock lets one integrate at a time
        sequencer = Sequencer.from_settings(svc.db, svc.settings)
        await ensure_schedules(svc.client, task_queue=svc.settings.temporal_task_queue)
        temporal_worker = build_worker(
            svc.client,
            svc.db,
            task_queue=svc.settings.temporal_task_queue,
            channels=Channels.from_settings(svc.settings),
            servicer={
                "name": svc.settings.servicer_name,
                "address": svc.settings.servicer_address,
                "creditor": svc.settings.creditor_name or svc.settings.servicer_name,
            },
            max_activities=svc.settings.worker_max_activities,
            max_cached_workflows=svc.settings.worker_max_cached_workflows,
            max_workflow_tasks=svc.settings.worker_max_workflow_tasks,
        )
    server = api_server(svc) if api else None
    if temporal_worker is not None:
        parts.append(asyncio.create_task(temporal_worker.run(), name="worker"))
    if server is not None:
        parts.append(asyncio.create_task(server.serve(), name="api"))
    if sequencer is not None:
        parts.append(asyncio.create_task(sequencer.run(stop), name="audit sequencer"))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*parts, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if server is not None:
            server.should_exit = True
        if temporal_worker is not None and temporal_worker.is_running:
            await temporal_worker.shutdown()
        results = await asyncio.gather(*parts, return_exceptions=True)
        stopper.cancel()
    failed = [
        (task.get_name(), result)
        for task, result in zip(parts, results, strict=True)
        if task in done and isinstance(result, BaseException)
    ]
    if failed:
        name, exc = failed[0]
        raise RuntimeError(f"the {name} stopped: {exc!r}") from exc
    if stopper not in done and server is not None and not stop.is_set():
        raise RuntimeError(f"the API stopped; is port {svc.settings.api_port} already in use? (set API_PORT)")
