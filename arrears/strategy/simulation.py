"""Simulating a strategy before rollout: a generated portfolio through the real case workflow on
Temporal's time-skipping test server, once per strategy, side by side.

The workflow is the production `CaseWorkflow`, started with the strategy as its variant. Its
activities are the simulation's: they record what the case did instead of writing rows and
sending letters, and the send applies the same contact rules (`policies.contact.check`) at the
server's (skipped) clock. Borrowers behave as the portfolio's behaviour model says: each month
a draw on its roll matrix (by segment, and by strategy where the model has an arm for it) makes
the borrower cure (pay everything), hold (pay an instalment) or roll (pay nothing); some promise
first; a few dispute. Every case uses the same random numbers under every strategy. Staff decide
each task the day after it opens, as a diligent team would. Afterwards every action of every
case is checked against the pack's own rules (arrears.strategy.checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf.empty_pb2 import Empty
from temporalio.api.enums.v1 import EventType
from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from arrears.analytics.behaviour import DEFAULT_MODEL, BehaviourModel
from arrears.analytics.types import BUCKETS, EXITED, Bucket
from arrears.embedded import bin_path
from arrears.strategy.ledger import STAFF_DECISIONS, CaseLedger, SimulatedActivities
from arrears.temporal import ensure_search_attributes, sandbox_runner
from models.enums import CaseOutcome, PolicyPack, Segment
from policies import get_pack
from policies.strategy import Variant, apply
from workflows.case import CaseWorkflow
from workflows.dto import (
    CaseInput,
    CloseRequest,
    HoldChange,
    PaymentSignal,
    PromiseToPay,
    TaskDecision,
)

START = date(2026, 1, 5)  # a Monday: the simulated portfolio opens then


class SimulationError(ValueError):
    """A simulation that cannot run as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Portfolio:
    """`cases` delinquent loans of one pack, generated from `seed`."""

    pack: PolicyPack
    cases: int
    seed: int

    @classmethod
    def parse(cls, spec: str, pack: PolicyPack) -> Portfolio:
        """`N` or `N:SEED` (generated cases of `pack`)."""
        count, _, seed = spec.partition(":")
        if not count.isdigit() or (seed and not seed.isdigit()):
            raise SimulationError(f"--portfolio {spec!r}: give the number of cases, and a seed: 200:7")
        if not 1 <= int(count) <= 100_000:
            raise SimulationError("--portfolio: between 1 and 100,000 cases")
        return cls(pack, int(count), int(seed or 1))


@dataclass(slots=True)
class Borrower:
    """One generated case and the random numbers its borrower draws from, month by month."""

    index: int
    segment: Segment
    bucket: Bucket
    days_past_due: int
    installment: Decimal
    arrears: Decimal
    pay_day: list[int]  # day of each month the borrower acts on
    roll: list[float]  # uniform draws on the roll matrix, one a month
    promise: list[float]
    dispute: list[float]


def borrowers(portfolio: Portfolio, model: BehaviourModel, days: int) -> list[Borrower]:
    """The portfolio's cases: delinquent buckets and segments as the behaviour model mixes them."""
    delinquent = [b for b in BUCKETS if b is not Bucket.CURRENT]
    weights = [model.initial_buckets.get(b, 0.0) for b in delinquent]
    months = days // 30 + 2
    out = []
    for i in range(portfolio.cases):
        rng = random.Random(f"{portfolio.seed}:{i}")
        bucket = rng.choices(delinquent, weights)[0]
        segment = rng.choices(list(model.segment_mix), list(model.segment_mix.values()))[0]
        # new delinquencies open in their first days; older ones anywhere in their bucket
        low = 30 * bucket.order - 30
        dpd = (
            rng.randint(1, 10)
            if bucket is Bucket.D1_29
            else rng.randint(120, 150)
            if bucket is Bucket.D120_PLUS
            else rng.randint(low, low + 25)
        )
        installment = Decimal(rng.choice((250, 400, 650, 900, 1400, 2100)))
        out.append(
            Borrower(
                index=i,
                segment=segment,
                bucket=bucket,
                days_past_due=dpd,
                installment=installment,
                arrears=installment * max(1, (dpd + 29) // 30),
                pay_day=[rng.randint(3, 27) for _ in range(months)],
                roll=[rng.random() for _ in range(months)],
                promise=[rng.random() for _ in range(months)],
                dispute=[rng.random() for _ in range(months)],
            )
        )
    return out


# ------------------------------------------------------------------------------- one strategy
@dataclass(slots=True)
class Run:
    """One strategy's simulation: its ledgers and how long the server took."""

    variant: Variant
    ledgers: dict[uuid.UUID, CaseLedger]
    borrowers: dict[uuid.UUID, Borrower]
    days: int
    seconds: float
    stalled_seconds: float = 0.0  # of `seconds`, spent on the test server's stalls


def _destination(model: BehaviourModel, b: Borrower, arm: str, month: int) -> str:
    row = model.matrix(b.segment, arm)[b.bucket]
    u, total = b.roll[month], 0.0
    for to, p in row.items():
        total += p
        if u < total:
            return to
    return b.bucket.value


async def run_strategy(
    variant: Variant,
    portfolio: Portfolio,
    *,
    days: int,
    model: BehaviourModel = DEFAULT_MODEL,
    dispute_rate: float = 0.01,
    env: WorkflowEnvironment | None = None,
    progress: Callable[[int], None] | None = None,
) -> Run:
    """Run the portfolio through the case workflow under `variant`, on a time-skipping server of
    its own (or `env`), for `days` days."""
    if variant.pack is not portfolio.pack:
        raise SimulationError(
            f"{variant.label} is for {variant.pack.value}, the portfolio for {portfolio.pack.value}"
        )
    apply(get_pack(portfolio.pack), variant)  # refuses a variant that weakens the law
    own = env is None
    if env is None:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(bin_path("temporal-test-server")),
            data_converter=pydantic_data_converter,
        )
    try:
        return await _run(
            env, variant, portfolio, days=days, model=model, dispute_rate=dispute_rate, progress=progress
        )
    finally:
        if own:
            await env.shutdown()


async def _run(
    env: WorkflowEnvironment,
    variant: Variant,
    portfolio: Portfolio,
    *,
    days: int,
    model: BehaviourModel,
    dispute_rate: float,
    progress: Callable[[int], None] | None,
) -> Run:
    pack = get_pack(portfolio.pack)
    with contextlib.suppress(RPCError):  # a server shared by several runs has them already
        await ensure_search_attributes(env.client)
    sim = SimulatedActivities(portfolio.pack, pack.default_timezone)
    queue = f"simulation-{uuid.uuid4()}"
    people = borrowers(portfolio, model, days)
    started = await _now(env)
    opened = started.date() + timedelta(days=1)
    handles: dict[uuid.UUID, Any] = {}
    by_case: dict[uuid.UUID, Borrower] = {}
    clock = asyncio.get_running_loop().time
    t0 = clock()
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[CaseWorkflow],
        activities=sim.all(),
        workflow_runner=sandbox_runner(),
        max_concurrent_activities=200,
    ):
        await _sleep_until(env, datetime.combine(opened, time(6), UTC))
        for b in people:
            case_id = uuid.UUID(int=random.Random(f"{portfolio.seed}:{b.index}:case").getrandbits(128))
            by_case[case_id] = b
            sim.cases[case_id] = CaseLedger(
                opened, opened - timedelta(days=b.days_past_due), b.arrears, pack.currency
            )
            case = CaseInput(
                case_id=case_id,
                loan_id=case_id,
                loan_external_id=f"SIM-{portfolio.seed}-{b.index}",
                policy_pack=portfolio.pack,
                currency=pack.currency,
                arrears=b.arrears,
                days_past_due=b.days_past_due,
                as_of=opened,
                exposure=b.installment * 150,
                installment=b.installment,
                due_day=max(1, min(28, (opened - timedelta(days=b.days_past_due)).day)),
                product="simulated",
                strategy=variant,
            )
            handles[case_id] = await env.client.start_workflow(
                CaseWorkflow.run, case, id=f"sim-{case_id}", task_queue=queue
            )
        for day in range(1, days + 1):
            today = opened + timedelta(days=day)
            borrowers_at, staff_at = acting_moments(today, day)
            await _advance(env, borrowers_at, handles, sim)
            await asyncio.gather(
                *(
                    _borrower_day(
                        env, handles[cid], sim.cases[cid], b, model, variant.name, day, today, dispute_rate
                    )
                    for cid, b in by_case.items()
                    if sim.cases[cid].outcome is None and not sim.cases[cid].lost
                )
            )
            # an hour for the cases to take the day's payments in (a cure ends its run), then staff
            await _advance(env, staff_at, handles, sim)
            await _staff_day(handles, sim)
            if progress is not None:
                progress(1)
        await asyncio.gather(*(_close(h, sim.cases[cid]) for cid, h in handles.items()))
    return Run(variant, sim.cases, by_case, days, clock() - t0, sim.stalled_seconds)


def acting_moments(today: date, day: int) -> tuple[datetime, datetime]:
    """When the borrowers act on `day`, and when staff then decide (UTC).

    The time-skipping server refuses a workflow task that cancels a timer which fired while the
    task was with the worker ("invalid history builder state for action") and never sends that
    task again, so the run, and with it time skipping for every run, stops. A case's timers fall
    on whole hours (contact windows, midnights) or whole days after the moment something reached
    it; had the simulation acted at the same minute every day, yesterday's signals would leave
    timers due just as today's land and cancel them. So the moments move by seven minutes a day
    (repeating only after the 180-day horizon), at odd seconds, and staff act 97 minutes and 16
    seconds after the borrowers: no moment is a whole number of days, or of hours, from another.
    That makes the race rarer, not impossible (a timer set while the worker is slow still lands
    near a later moment); `bench/strategy.py` runs a batch the server stalls again.
    """
    borrowers = datetime.combine(today, time(13, 30, 13), UTC) + timedelta(minutes=(day * 7) % 181)
    return borrowers, borrowers + timedelta(minutes=97, seconds=16)


UPDATE_TIMEOUT = timedelta(seconds=20)
SKIP_TIMEOUT = timedelta(seconds=30)  # a day of 50 cases takes a second or two; half a minute means stuck


async def skip(env: WorkflowEnvironment, delta: timedelta) -> None:
    """Move the time-skipping server's clock by `delta`, running every timer on the way; waits as
    long as the server needs (the SDK's sleep gives up after the default RPC timeout)."""
    request = SleepRequest()
    request.duration.FromTimedelta(delta)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_TIMEOUT)


async def _advance(
    env: WorkflowEnvironment, moment: datetime, handles: Mapping[uuid.UUID, Any], sim: SimulatedActivities
) -> None:
    """Move the clock; a run whose workflow task the test server refused holds time skipping for
    every run: it is ended and counted as lost to the server, and time goes on.

    The server refuses a task that cancels a timer which fired while the task was with the worker
    ("invalid history builder state for action"): two of a case's timers aimed at the same
    midnight from different moments land milliseconds apart, and the first one's task cancels the
    second. It neither times that task out nor sends it again, so the run's history ends with the
    task started, and time stops for everyone."""
    clock = asyncio.get_running_loop().time
    began = clock()
    for attempt in range(6):
        if attempt:  # a timeout, or the server dropping the long call: free the run that holds it
            await _release_stranded(env, handles, sim)
        try:
            await _sleep_until(env, moment)
        except RPCError:
            continue
        if attempt:
            sim.stalled_seconds += clock() - began
        return
    sim.stalled_seconds += clock() - began
    raise SimulationError("the time-skipping server stopped moving time")


async def _release_stranded(
    env: WorkflowEnvironment, handles: Mapping[uuid.UUID, Any], sim: SimulatedActivities
) -> None:
    """End each run whose history ends with a workflow task started and never completed."""
    for case_id, handle in handles.items():
        ledger = sim.cases[case_id]
        if ledger.outcome is not None or ledger.lost:
            continue
        try:
            history = await asyncio.wait_for(handle.fetch_history(), UPDATE_TIMEOUT.total_seconds())
        except (RPCError, TimeoutError):
            continue
        if history.events and history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            ledger.lost = True
            with contextlib.suppress(RPCError, TimeoutError):
                await asyncio.wait_for(
                    handle.terminate("simulation: the test server refused its workflow task"),
                    UPDATE_TIMEOUT.total_seconds(),
                )
            # the refused task's hold on time skipping outlives its run: let it go
            with contextlib.suppress(RPCError):
                await env.client.test_service.unlock_time_skipping(
                    UnlockTimeSkippingRequest(), timeout=UPDATE_TIMEOUT
                )


async def _now(env: WorkflowEnvironment) -> datetime:
    """The test server's clock, asked with a deadline (the SDK's call has none)."""
    response = await env.client.test_service.get_current_time(Empty(), timeout=SKIP_TIMEOUT)
    return response.time.ToDatetime().replace(tzinfo=UTC)


async def _sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    delta = moment - await _now(env)
    if delta > timedelta(0):
        await skip(env, delta)


async def _borrower_day(
    env: WorkflowEnvironment,
    handle: Any,
    ledger: CaseLedger,
    b: Borrower,
    model: BehaviourModel,
    arm: str,
    day: int,
    today: date,
    dispute_rate: float,
) -> None:
    month, in_month = divmod(day, 30)
    if month >= len(b.pay_day):
        return
    act_on = b.pay_day[month]
    if in_month == 1 and b.dispute[month] < dispute_rate:
        await _update(
            handle,
            "set_hold",
            HoldChange(kind="dispute", active=True, by="borrower", reason="simulated dispute"),
        )
        ledger.holds.append(("dispute", await _now(env)))
    destination = _destination(model, b, arm, month)
    promises = model.outcomes.call_outcomes.get("reached", 0.3) * model.outcomes.promise_given_reached
    pays = destination in (Bucket.CURRENT.value, EXITED, b.bucket.value)
    amount = (
        ledger.arrears
        if destination in (Bucket.CURRENT.value, EXITED)
        else min(b.installment, ledger.arrears)
    )
    if in_month == act_on - 7 and b.promise[month] < promises and amount > 0:
        made = await _update(
            handle,
            "record_promise",
            PromiseToPay(
                amount=amount, due=today + timedelta(days=7), by="agent", reason="simulated promise"
            ),
        )
        ledger.promises += int(made)
        ledger.promises_kept += int(made and pays)
    if in_month != act_on:
        return
    if pays and amount > 0:
        await handle.signal(
            "payment",
            PaymentSignal(
                external_id=f"{handle.id}-{day}",
                amount=amount,
                currency=ledger.currency,
                received_at=await _now(env),
            ),
        )
    b.bucket = _next_bucket(b.bucket, destination)


def _next_bucket(bucket: Bucket, destination: str) -> Bucket:
    if destination == EXITED:
        return Bucket.CURRENT
    return Bucket(destination)


async def _update(handle: Any, name: str, arg: Any) -> bool:
    try:
        await asyncio.wait_for(handle.execute_update(name, arg), UPDATE_TIMEOUT.total_seconds())
    except (WorkflowUpdateFailedError, RPCError):
        return False  # refused by the case (not in the early stage, a promise pending, ...)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return False  # a run the test server stopped taking tasks from: `_advance` ends it
    return True


async def _staff_day(handles: Mapping[uuid.UUID, Any], sim: SimulatedActivities) -> None:
    """Staff decide yesterday's tasks."""
    todo, sim.open_tasks = sim.open_tasks, []

    by_case: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for case_id, key, kind in todo:
        by_case.setdefault(case_id, []).append((key, kind))

    async def decide(case_id: uuid.UUID, tasks: list[tuple[str, str]]) -> None:
        for key, kind in tasks:  # one decision at a time per case, as one agent works it
            if sim.cases[case_id].outcome is None and kind in STAFF_DECISIONS:
                decision = TaskDecision(
                    task=key, decision=STAFF_DECISIONS[kind], by="simulated-agent", reason="simulation"
                )
                await _update(handles[case_id], "complete_task", decision)

    await asyncio.gather(*(decide(c, t) for c, t in by_case.items()))


async def _close(handle: Any, ledger: CaseLedger) -> None:
    """End a case still open at the horizon, so that the server stops its timers."""
    if ledger.outcome is None and not ledger.lost:
        ledger.open_at_horizon = True
        await _update(
            handle,
            "close_case",
            CloseRequest(by="simulation", reason="horizon reached", outcome=CaseOutcome.TRANSFERRED),
        )
