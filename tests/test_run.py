"""`arrears run` end to end: embedded servers, demo portfolio, Ctrl-C, and a restart that keeps every case."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from arrears.embedded import free_port

BIN = Path(sys.executable).parent
DEMO_CASES = 16


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "arrears"), "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"arrears run exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no /healthz within {timeout}s:\n{log.read_text()}")


def _early_cases(temporal_port: int, timeout: float = 30) -> dict[str, str]:
    """Workflow ID → run ID of the running cases in stage early, via the `temporal` CLI."""
    deadline = time.monotonic() + timeout
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        out = subprocess.run(
            [
                str(BIN / "temporal"),
                "workflow",
                "list",
                "--address",
                f"127.0.0.1:{temporal_port}",
                "--query",
                "CaseStage='early' AND ExecutionStatus='Running'",
                "-o",
                "jsonl",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found = {}
        for line in out.splitlines():
            if line.strip():
                item = json.loads(line)
                found[item["execution"]["workflowId"]] = item["execution"]["runId"]
        if len(found) >= DEMO_CASES:
            return found
        time.sleep(0.5)
    return found


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"arrears run did not stop on Ctrl-C:\n{log.read_text()}") from None
    assert code == 0, log.read_text()


def test_run_serves_loads_demo_stops_on_ctrl_c_and_resumes(tmp_path: Path) -> None:
    api_port, temporal_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST"}}
    env |= {
        "DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(api_port),
        "TEMPORAL_DEV_PORT": str(temporal_port),
        "TEMPORAL_UI_PORT": str(free_port()),
        "DEV_SMTP_PORT": str(free_port()),
        "COLUMNS": "120",
    }
    log = tmp_path / "run.log"

    proc = _start(env, log)
    try:
        _wait_healthy(proc, api_port, log)
        before = _early_cases(temporal_port)
        assert len(before) == DEMO_CASES, log.read_text()
        sign_in = httpx.get(f"http://127.0.0.1:{api_port}/web/sign-in", timeout=10)
        assert sign_in.status_code == 200 and "Development sign-in" in sign_in.text
        assert {w.split("-")[2] for w in before} == {"US", "NL", "SE", "BE"}
    finally:
        _stop(proc, log)
    first_output = log.read_text()
    assert "demo portfolio loaded: 16 cases opened" in first_output
    assert "API docs" in first_output and "Temporal UI" in first_output
    assert f"Workbench    http://127.0.0.1:{api_port}/web" in first_output
    assert "eyJ" in first_output  # the dev token
    assert "(a local mailbox)" in first_output and (tmp_path / "data" / "mail").is_dir()

    log.write_text("")
    proc = _start(env, log)
    try:
        _wait_healthy(proc, api_port, log)
        after = _early_cases(temporal_port)
    finally:
        _stop(proc, log)
    assert after == before  # the same cases, the same runs: nothing restarted, nothing lost
    assert "demo portfolio loaded" not in log.read_text()
