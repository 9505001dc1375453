"""Workbench latency: the work queue page against the JSON work queue, and every page for one user.

    make bench-web                                        # 20,000 cases, 20 clients
    .venv/bin/python -m bench.web --cases 5000 --requests 300 --single 100

The servers, the portfolio and the live cases are bench/api.py's: embedded PostgreSQL and
Temporal on free ports, `arrears worker` and `arrears api` as processes (ENVIRONMENT=test, so
that the development sign-in is open), `--cases` bulk-loaded cases in 100 teams and `--live`
cases opened through intake with running workflows. `--reports` monthly delinquency reports
are generated through the API so that the regulator's page lists something.

Two measurements, in the same run:

1. Under load (`--clients` concurrent users, `--requests` requests each): `GET /web/queue`
   for agents of the 100 teams, each signed in through `POST /web/sign-in` with their own
   session cookie, against `GET /v1/tasks` with bearer tokens for the same teams in the same
   order, the two taking turns in `--rounds` slices (a shared machine's load drifts; each
   slice of one meets the same drift as the other's). Target: the page's p95 at most 2x the
   JSON's.
2. One user (one client, `--single` requests per page): the queue, the case list, a live case
   (its state is the workflow's query), the audit trail as compliance, the reports as a
   regulator, and the sign-in form. Target: each page's p95 at most 100 ms. The JSON routes
   behind the queue and the case page are measured alongside, for reference.

The figures go to bench/results/web-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.table import Table

from arrears.auth import issue_token
from arrears.settings import Settings
from bench.api import (
    RESULTS,
    ROOT,
    TEAMS,
    _open_live,
    _settle,
    console,
    measure,
    percentile,
    portfolio,
    serving,
)
from models.enums import Role

COOKIE = "arrears_session"
QUEUE_TARGET = 2.0  # the page's p95 over the JSON's, under load
PAGE_TARGET_MS = 100.0  # each page's p95, one user

Headers = dict[str, str]
Figures = dict[str, float]


async def sign_in(base: str, *, name: str, role: Role, team: str | None = None) -> Headers:
    """The development sign-in, as a browser does it: the session cookie to send back."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        response = await http.post(
            "/web/sign-in", data={"name": name, "role": role.value, "team": team or ""}
        )
    token = response.cookies.get(COOKIE)
    if response.status_code != 303 or not token:
        raise SystemExit(
            f"sign-in as {role.value} {name} failed: {response.status_code} {response.text[:200]}"
        )
    return {"Cookie": f"{COOKIE}={token}"}


def bearer(settings: Settings, *, role: Role, subject: str, team: str | None = None) -> Headers:
    return {"Authorization": "Bearer " + issue_token(settings, role=role, subject=subject, team=team)}


async def _generate_reports(client: httpx.AsyncClient, headers: Headers, months: int) -> None:
    """One delinquency report per past month, newest first, through `POST /v1/reports`."""
    end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    with console.status(f"generating {months} monthly delinquency reports"):
        for _ in range(months):
            start = end.replace(day=1)
            response = await client.post(
                "/v1/reports",
                json={
                    "kind": "delinquency",
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                },
                headers=headers,
                timeout=600,
            )
            response.raise_for_status()
            end = start - timedelta(days=1)


async def alternate(
    client: httpx.AsyncClient, routes: dict[str, list[tuple[str, Headers]]], clients: int, rounds: int
) -> dict[str, Figures]:
    """Each route's requests in `rounds` slices, taking turns (A B, B A, ...), so that the load
    of a shared machine drifting during the run falls on every route alike; figures pooled."""
    pooled: dict[str, list[float]] = {name: [] for name in routes}
    seconds = dict.fromkeys(routes, 0.0)
    for r in range(rounds):
        for name in list(routes) if r % 2 == 0 else reversed(list(routes)):
            batch = routes[name][r::rounds]
            figures = await measure(
                client, f"{name}, round {r + 1} of {rounds}", batch, clients, pooled[name]
            )
            seconds[name] += len(batch) / figures["throughput_rps"]
    return {
        name: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 0.50), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "throughput_rps": round(len(values) / seconds[name], 1),
        }
        for name, values in pooled.items()
    }


async def run(
    args: argparse.Namespace, url: str, temporal: str, work: Path
) -> tuple[dict[str, Figures], dict[str, Figures]]:
    """(the queue under load: JSON and page; each page and its reference routes for one user)."""
    async with serving(url, temporal, work) as (base, settings):
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            supervisor = bearer(settings, role=Role.SUPERVISOR, subject="bench")
            live_ids = await _open_live(client, supervisor, args.live)
            await _settle(url)
            await _generate_reports(client, bearer(settings, role=Role.COMPLIANCE, subject="c"), args.reports)

            teams = [f"team-{t:03d}" for t in range(TEAMS)]
            with console.status(f"signing in {TEAMS + 3} people"):
                cookies = [await sign_in(base, name=f"agent-{t}", role=Role.AGENT, team=t) for t in teams]
                live_cookie = await sign_in(base, name="agent-live", role=Role.AGENT, team="bench-live")
                compliance = await sign_in(base, name="compliance", role=Role.COMPLIANCE)
                regulator = await sign_in(base, name="regulator", role=Role.REGULATOR)
            tokens = [bearer(settings, role=Role.AGENT, subject=f"agent-{t}", team=t) for t in teams]
            live_token = bearer(settings, role=Role.AGENT, subject="agent-live", team="bench-live")

            # the same teams in the same order for the page and the JSON
            order = [random.randrange(TEAMS) for _ in range(args.requests)]
            warm = order[:100]
            await measure(
                client,
                "warm-up",
                [("/v1/tasks", tokens[t]) for t in warm] + [("/web/queue", cookies[t]) for t in warm],
                args.clients,
            )
            under_load = await alternate(
                client,
                {
                    "json_work_queue": [("/v1/tasks", tokens[t]) for t in order],
                    "work_queue_page": [("/web/queue", cookies[t]) for t in order],
                },
                args.clients,
                args.rounds,
            )

            n = args.single
            one_team = [random.randrange(TEAMS) for _ in range(n)]
            cases = [f"/web/cases/{random.choice(live_ids)}" for _ in range(n)]
            requests: dict[str, list[tuple[str, Headers]]] = {
                "/web/queue": [("/web/queue", cookies[t]) for t in one_team],
                "/web/cases": [("/web/cases", cookies[t]) for t in one_team],
                "/web/cases/{id}": [(path, live_cookie) for path in cases],
                "/web/audit": [("/web/audit", compliance)] * n,
                "/web/reports": [("/web/reports", regulator)] * n,
                "/web/sign-in": [("/web/sign-in", {})] * n,
                "/v1/tasks": [("/v1/tasks", tokens[t]) for t in one_team],
                "/v1/cases/{id}": [(path.replace("/web/", "/v1/"), live_token) for path in cases],
            }
            one_user: dict[str, Figures] = {}
            for name, batch in requests.items():
                await measure(client, f"warm-up {name}", batch[:10], 1)
                one_user[name] = await measure(client, f"GET {name}, one user", batch, 1)
    return under_load, one_user


def _table(title: str, rows: dict[str, Figures], verdicts: dict[str, bool]) -> Table:
    table = Table(title=title)
    for column in ("route", "p50 ms", "p95 ms", "p99 ms", "req/s", "target"):
        table.add_column(column, justify="right")
    for name, f in rows.items():
        verdict = "" if name not in verdicts else ("met" if verdicts[name] else "MISSED")
        table.add_row(
            name, str(f["p50_ms"]), str(f["p95_ms"]), str(f["p99_ms"]), str(f["throughput_rps"]), verdict
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases in the portfolio")
    parser.add_argument("--live", type=int, default=50, help="of which opened with running workflows")
    parser.add_argument("--reports", type=int, default=12, help="monthly reports for the regulator's page")
    parser.add_argument("--requests", type=int, default=1000, help="requests per route under load")
    parser.add_argument("--clients", type=int, default=20, help="concurrent users under load")
    parser.add_argument("--rounds", type=int, default=4, help="turns the page and the JSON take under load")
    parser.add_argument("--single", type=int, default=200, help="requests per page for one user")
    args = parser.parse_args()

    with portfolio(args.cases) as (url, temporal, work):
        under_load, one_user = asyncio.run(run(args, url, temporal, work))

    ratio = under_load["work_queue_page"]["p95_ms"] / under_load["json_work_queue"]["p95_ms"]
    pages = {name: f["p95_ms"] <= PAGE_TARGET_MS for name, f in one_user.items() if name.startswith("/web/")}
    console.print(
        _table(
            f"Work queue, {args.cases:,} cases, {args.clients} clients, {args.requests:,} requests each "
            f"(target: page p95 <= {QUEUE_TARGET:g}x JSON p95)",
            under_load,
            {"work_queue_page": ratio <= QUEUE_TARGET},
        )
    )
    console.print(f"page p95 / JSON p95: {ratio:.2f}x ({'met' if ratio <= QUEUE_TARGET else 'MISSED'})")
    console.print(
        _table(
            f"One user, {args.single} requests each (target: page p95 <= {PAGE_TARGET_MS:g} ms; "
            "/v1 rows for reference)",
            one_user,
            pages,
        )
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"web-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "web",
                "args": vars(args),
                "under_load": under_load,
                "ratio_p95_page_vs_json": round(ratio, 2),
                "ratio_target": QUEUE_TARGET,
                "ratio_met": ratio <= QUEUE_TARGET,
                "one_user": one_user,
                "page_p95_target_ms": PAGE_TARGET_MS,
                "pages_met": pages,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
