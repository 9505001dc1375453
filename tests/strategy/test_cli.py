"""The strategy commands, run as a user runs them, on the strategy tests' own database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.strategy import strategies
from models.enums import PolicyPack

ARREARS = str(Path(sys.executable).parent / "arrears")


async def _arrears(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        ARREARS, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


def _env(postgres: EmbeddedPostgres, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": postgres.app_url("arrears_strategy"),
        "DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "240",
        "PYTHONWARNINGS": "ignore",
    }


async def test_a_weakening_strategy_is_refused_at_the_command_line(tmp_path: Path) -> None:
    dialler = tmp_path / "dialler.json"
    dialler.write_text(
        json.dumps(
            {"pack": "us_mortgage", "name": "dialler", "frequency_caps": {"call": {"limit": 10, "days": 7}}}
        )
    )
    env = {**os.environ, "COLUMNS": "240", "PYTHONWARNINGS": "ignore"}
    code, out, err = await _arrears("strategy", "check", str(dialler), env=env)
    assert code == 1
    assert "dialler@v1 for us_mortgage is refused" in err and "12 CFR 1006.14(b)(2)(i)(A)" in err
    code, out, _ = await _arrears("strategy", "check", "us-mild", env=env)
    assert code == 0 and "keeps every legal minimum" in out


async def test_train_score_experiment_and_promote_in_one_command(
    strategy_db: Database, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    env = _env(postgres, tmp_path)
    code, out, err = await _arrears(
        "score",
        "train",
        "--name",
        "cli",
        "--generated",
        "3000",
        "--months",
        "12",
        "--seed",
        "4",
        "--out",
        str(tmp_path),
        env=env,
    )
    assert code == 0, err
    assert "cure: AUC 0.8" in out and "scorecard cli v1 trained on 1049 cases" in out
    card = (tmp_path / "cli-v1.md").read_text()
    assert "(a generated portfolio of 3,000 loans over 12 months to 2026-11-30, seed 4)" in card
    assert (tmp_path / "cli-v1.json").is_file() and "## Target `roll`" in card
    code, out, err = await _arrears("score", "run", env=env)
    assert code == 0, err
    assert "open cases scored with cli v1" in out
    for name in ("us-standard", "us-mild"):
        code, out, err = await _arrears("strategy", "add", name, env=env)
        assert code == 0 and f"stored {name}@v1 for us_mortgage" in out, err
    code, out, err = await _arrears(
        "experiment",
        "start",
        "cli-test",
        "--pack",
        "us_mortgage",
        "--champion",
        "us-standard",
        "--challenger",
        "us-mild",
        "--seed",
        "9",
        env=env,
    )
    assert code == 0 and "experiment cli-test running for us_mortgage, seed 9" in out, err
    code, out, err = await _arrears("experiment", "report", "cli-test", "--json", env=env)
    assert code == 0, err
    assert {a["arm"] for a in json.loads(out)} == {"us-standard", "us-mild"}
    code, out, err = await _arrears(
        "experiment", "promote", "cli-test", "--arm", "us-mild", "--portfolio", "4:2", "--days", "20", env=env
    )
    assert code == 0, err + out
    assert "us-mild@v1 is now the champion for us_mortgage" in out
    assert "legal violations" in out
    async with strategy_db.session() as session:
        champion = await strategies.champion(session, PolicyPack.US_MORTGAGE)
    assert champion is not None and champion.name == "us-mild"
