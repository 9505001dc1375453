"""Strategy simulation speed: generated cases through the real case workflow on the time-skipping
server, in case-days per second, against a bare workflow with the same timers on the same server.

    make bench-strategy                                    # 1,000 cases over 180 days
    .venv/bin/python -m bench.strategy --cases 100         # a quicker look

The cases run in batches (--batch, 25), each batch on a time-skipping test server of its own
(started from its wheel) shared by both runs, with the same daily walk of the clock: the
simulation with the real `CaseWorkflow` under a strategy, its simulated activities, the
borrowers' payments, promises and disputes and the staff's task decisions; the baseline with one
`BareTimers` workflow per case sleeping through the timers the case's pack plans for it (its
reminders, letters and recurring obligations over the horizon), and nothing else. The ratio is
the simulation's case-days per second over the baseline's.

The test server now and then strands a run, and with it time skipping for every run on it
(docs/strategy.md); a batch it stalls is run again from the same seed on a new server, and the
stall is listed in the results (`batches_run_again_after_a_stall`) with none of its time counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from arrears.analytics.behaviour import DEFAULT_MODEL
from arrears.embedded import bin_path
from arrears.strategy import checks, simulation, strategies
from arrears.temporal import sandbox_runner
from bench.bare_timers import BareTimers
from models.enums import PolicyPack
from policies import get_pack
from policies.strategy import apply

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"


def timers(portfolio: simulation.Portfolio, variant_name: str, days: int) -> list[list[int]]:
    """Per case, the seconds from the start at which its pack (under the strategy) sets a timer."""
    pack = apply(get_pack(portfolio.pack), strategies.builtin(variant_name))
    out = []
    start = datetime(2026, 1, 5, tzinfo=UTC).date()
    for b in simulation.borrowers(portfolio, DEFAULT_MODEL, days):
        since = start - timedelta(days=b.days_past_due)
        steps = pack.early_steps(segment=b.segment, delinquent_since=since, arrears=b.arrears, today=start)
        steps += pack.recurring_obligations(delinquent_since=since, opened_on=start)
        offsets = sorted({(s.day - start).days * 86400 for s in steps if 0 <= (s.day - start).days <= days})
        offsets.append(days * 86400)  # the horizon, where the simulation closes the case
        out.append(offsets)
    return out


async def bare(env: WorkflowEnvironment, plans: list[list[int]], days: int) -> float:
    """Seconds to walk `days` days with one bare timer workflow per case."""
    queue = f"bare-{uuid.uuid4()}"
    t0 = time.perf_counter()
    async with Worker(env.client, task_queue=queue, workflows=[BareTimers], workflow_runner=sandbox_runner()):
        handles = [
            await env.client.start_workflow(BareTimers.run, plan, id=f"bare-{uuid.uuid4()}", task_queue=queue)
            for plan in plans
        ]
        start = await env.get_current_time()
        for day in range(1, days + 1):  # the same daily walk as the simulation's
            target = start + timedelta(days=day)
            await simulation.skip(env, target - await env.get_current_time())
        for handle in handles:  # one at a time: each result unlocks time skipping while it waits
            await handle.result()
    return time.perf_counter() - t0


async def _server() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bin_path("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )


async def _batch(portfolio: simulation.Portfolio, strategy: str, days: int) -> tuple[simulation.Run, float]:
    """One batch on a server of its own: the simulation's run, and the bare timers' seconds."""
    env = await _server()
    try:
        run = await simulation.run_strategy(strategies.builtin(strategy), portfolio, days=days, env=env)
        return run, await bare(env, timers(portfolio, strategy, days), days)
    finally:
        await env.shutdown()


async def main(cases: int, days: int, seed: int, strategy: str, batch: int, tries: int) -> dict[str, Any]:
    simulated = baseline = stalled_s = 0.0
    violations = lost = 0
    stalled: list[dict[str, Any]] = []
    # In batches, each on a fresh server: the test server strands a run now and then, and with it
    # time skipping for every run on it (docs/strategy.md). A batch it stalls is run again, from
    # the same seed, on a new server, and the stall is counted; its time is not in the figures.
    limit = max(240.0, batch * days / 20)  # a healthy batch of 25 takes 5-20 s; a stranded run, 30 s more
    for first in range(0, cases, batch):
        portfolio = simulation.Portfolio(PolicyPack.US_MORTGAGE, min(batch, cases - first), seed + first)
        for attempt in range(1, tries + 1):
            began = time.perf_counter()
            try:
                run, bare_s = await asyncio.wait_for(_batch(portfolio, strategy, days), limit)
                break
            except (TimeoutError, simulation.SimulationError) as stall:
                stalled.append(
                    {
                        "first_case": first,
                        "attempt": attempt,
                        "after_s": round(time.perf_counter() - began, 1),
                    }
                )
                print(
                    f"cases {first}-{first + portfolio.cases - 1}: the server stalled ({stall!r}); again",
                    flush=True,
                )
        else:
            raise SystemExit(f"cases {first}-{first + portfolio.cases - 1}: the server stalled {tries} times")
        outcome = checks.summarise(run)
        simulated += run.seconds
        stalled_s += run.stalled_seconds
        baseline += bare_s
        violations += outcome.violations
        lost += int(outcome.kpis["cases_lost_to_server"])
        print(
            f"{first + portfolio.cases} cases: simulation {simulated:.1f} s, bare {baseline:.1f} s",
            flush=True,
        )
    case_days = cases * days
    return {
        "cases": cases,
        "batch": batch,
        "days": days,
        "strategy": strategy,
        "simulation_seconds": round(simulated, 2),
        "simulation_case_days_per_second": round(case_days / simulated, 1),
        "bare_seconds": round(baseline, 2),
        "bare_case_days_per_second": round(case_days / baseline, 1),
        "ratio_simulation_seconds_over_bare": round(simulated / baseline, 2),
        # of the simulation's seconds, those spent waiting on a stranded run and freeing it
        "simulation_stall_seconds": round(stalled_s, 2),
        "ratio_without_stall_seconds": round((simulated - stalled_s) / baseline, 2),
        "legal_violations": violations,
        "cases_lost_to_server": lost,
        "batches_run_again_after_a_stall": stalled,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strategy", default="us-standard")
    parser.add_argument("--batch", type=int, default=25, help="cases run at once, on a server of their own")
    parser.add_argument("--tries", type=int, default=5, help="runs of a batch the server stalls")
    args = parser.parse_args()
    figures = asyncio.run(main(args.cases, args.days, args.seed, args.strategy, args.batch, args.tries))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"strategy-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    print(f"written {out}")
