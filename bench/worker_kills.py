"""Crashes at scale: SIGKILL `arrears worker` hundreds of times while it sends e-mail.

    make bench-kills                                         # 200 e-mails, 200 kills
    .venv/bin/python -m bench.worker_kills --sends 40 --kills 40 --seed 7

Its own embedded PostgreSQL, Temporal dev server and SMTP server (aiosmtpd, slow on purpose) run
on free ports and temporary folders. `--sends` cases are opened through intake, each e-mailing a
letter to an address of its own, and `arrears worker` runs as a process configured as in
production. It is SIGKILLed a random moment after one of its SMTP exchanges began (in the
envelope, after the server took the message but before it replied, just after the reply, or as
the next letter renders) and started again, `--kills` times; a last worker finishes the batch
and a payment cures every case, so each workflow is seen to complete. A kill after the server
took a message and before the sender recorded it sends it again under the same Message-ID, the
one duplicate no sender can rule out. A lost message (never received, or never recorded sent),
a copy under another Message-ID, a Message-ID of no message or a case left open fails the run.
Figures: bench/results/worker-kills-<UTC time>.json. `--seed` fixes the kill moments only.
Every restart imports the code afresh: run it on a checkout that nobody edits meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlmodel import col, func, select
from temporalio.client import Client

from arrears import migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, bin_path, free_port
from arrears.intake import IntakeService
from arrears.runtime import wait_for_temporal
from arrears.temporal import ensure_search_attributes
from models.documents import Message
from models.enums import CaseOutcome, Channel, MessageStatus
from tests.factories import delinquency, zone_at_local_hour
from tests.servers import Received, SmtpServer, SmtpSink
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, PaymentSignal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
console = Console()
ACCEPTED = "server took it, reply pending"
REPLIED = "reply sent, outcome maybe unrecorded"
ENVELOPE = "in the SMTP envelope"
BETWEEN = "between exchanges (render, record, connect)"
IDLE = "no exchange began within the wait"
DONE = "nothing left to send"
STALLED = 5  # workers in a row that began no exchange: the code or the setup is broken, stop


@dataclass
class KillSink(SmtpSink):
    """The tests' SMTP server, which also signals each exchange's start and slows its envelope."""

    envelope_delay: float = 0.0
    exchange_started: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = await super().handle_RCPT(server, session, envelope, address, options)
        self.exchange_started.set()
        if self.envelope_delay:
            await asyncio.sleep(self.envelope_delay)
        return reply


@dataclass
class Batch:
    """The cases of one run: their IDs, their workflow IDs and each borrower's own address."""

    tag: str
    case_ids: list[uuid.UUID]
    workflow_ids: list[str]
    address: dict[uuid.UUID, str]


async def open_cases(db: Database, client: Client, queue: str, count: int) -> Batch:
    """Open `count` US mortgage cases 10 days late, at local noon, each with its own e-mail address."""
    tag = uuid.uuid4().hex[:8]
    today = datetime.now(UTC).date()
    zone = zone_at_local_hour(12, datetime.now(UTC))  # well inside Reg F's 08:00-21:00
    late: dict[str, Any] = {"as_of": today, "days_past_due": 10, "timezone": zone}
    rows = [(i, delinquency(email=f"kill{i}-{tag}@example.org", **late)) for i in range(1, count + 1)]
    with console.status(f"opening {count:,} cases through intake"):
        result = await IntakeService(db, client, task_queue=queue).ingest(rows, source="bench")
    if result.opened != count:
        raise SystemExit(f"intake opened {result.opened} of {count}: {result.errors[:3]}")
    return Batch(
        tag=tag,
        case_ids=result.case_ids,
        workflow_ids=[f"loan-{r['loan_id']}" for _, r in rows],
        address={cid: r["email"] for cid, (_, r) in zip(result.case_ids, rows, strict=True)},
    )


async def emails(db: Database, batch: Batch) -> list[Message]:
    """The batch's e-mail rows, whatever channel they ended on."""
    async with db.session() as session:
        found = await session.exec(
            select(Message).where(
                col(Message.case_id).in_(batch.case_ids), Message.requested_channel == Channel.EMAIL.value
            )
        )
        return list(found.all())


async def recorded_sent(db: Database, batch: Batch) -> int:
    async with db.session() as session:
        sent: int = (
            await session.exec(
                select(func.count()).where(
                    col(Message.case_id).in_(batch.case_ids),
                    Message.requested_channel == Channel.EMAIL.value,
                    Message.status == MessageStatus.SENT,
                )
            )
        ).one()
        return sent


def code_version() -> dict[str, Any]:
    """The commit checked out, and whether the files differed from it (workers run the files)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "-uno")),
    }


def worker_env(
    url: str, address: str, queue: str, smtp_port: int, args: argparse.Namespace, work: Path
) -> dict[str, str]:
    """`arrears worker` configured as in production: every server named, nothing embedded."""
    return os.environ | {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(work / "data"),
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": queue,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "MESSAGE_ID_DOMAIN": "arrears.test",
        "DEMO_DATA": "false",
        "WORKER_MAX_ACTIVITIES": str(args.activities),  # a few sends in flight: each kill strands few
    }


async def start_worker(env: dict[str, str], work: Path) -> asyncio.subprocess.Process:
    # cwd is the scratch folder, so no .env of a developer's checkout is read
    with (work / "worker.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            str(bin_path("arrears")), "worker", env=env, cwd=work, stdout=log, stderr=log
        )


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Stop a worker as an operator would: SIGTERM, then SIGKILL if it is still there after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout=30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def _tail(work: Path) -> str:
    return (work / "worker.log").read_text(errors="replace")[-4000:]


def landed(sink: KillSink) -> str:
    """Where in the exchange the kill fell, as the SMTP server saw it."""
    if sink.phase == "accepted":
        return ACCEPTED
    if sink.replied_at and time.time() - sink.replied_at < 0.2:
        return REPLIED
    if sink.phase == "envelope":
        return ENVELOPE
    return BETWEEN


async def kill_loop(
    db: Database,
    batch: Batch,
    sink: KillSink,
    env: dict[str, str],
    work: Path,
    args: argparse.Namespace,
    bar: Progress,
    sent_bar: TaskID,
) -> list[dict[str, Any]]:
    """Start the worker, SIGKILL it a random moment after one of its exchanges began; repeat."""
    rng = random.Random(args.seed)
    span = args.envelope_delay + args.smtp_delay + args.after_reply
    kill_bar = bar.add_task("SIGKILLs", total=args.kills)
    kills: list[dict[str, Any]] = []
    for n in range(1, args.kills + 1):
        sink.exchange_started.clear()
        born = time.monotonic()
        proc = await start_worker(env, work)
        try:
            began = done = False
            for tick in range(int(args.wait / 0.05)):
                if began := sink.exchange_started.is_set():
                    break
                if proc.returncode is not None:
                    raise SystemExit(f"the worker exited by itself:\n{_tail(work)}")
                if tick % 20 == 0:  # the records once a second
                    sent = await recorded_sent(db, batch)
                    bar.update(sent_bar, completed=sent)
                    if done := sent == len(batch.case_ids):
                        break
                await asyncio.sleep(0.05)
            delay = rng.uniform(0.0, span) if began else 0.0
            await asyncio.sleep(delay)
            where = landed(sink) if began else DONE if done else IDLE
            received = len(sink.received)
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have exited by itself
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
        sink.phase = "idle"  # the dead connection's envelope is no exchange of the next worker
        sent = await recorded_sent(db, batch)
        kills.append(
            {
                "kill": n,
                "landed": where,
                "worker_alive_s": round(time.monotonic() - born, 2),
                "delay_after_exchange_began_s": round(delay, 3),
                "received_so_far": received,
                "recorded_sent_so_far": sent,
            }
        )
        bar.update(sent_bar, completed=sent)
        bar.update(kill_bar, completed=n)
        if not console.is_terminal:  # a log file gets a line per kill instead of the bars
            console.print(f"kill {n}/{args.kills}: {where}; {sent}/{args.sends} recorded sent")
        if n >= STALLED and all(k["landed"] == IDLE for k in kills[-STALLED:]):
            raise SystemExit(f"{STALLED} workers in a row began no exchange:\n{_tail(work)}")
    return kills


async def finish(
    db: Database, batch: Batch, args: argparse.Namespace, bar: Progress, sent_bar: TaskID, label: str
) -> bool:
    """Wait for the last worker to record every e-mail sent; False at the deadline."""
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        rows = await emails(db, batch)
        sent = sum(m.status is MessageStatus.SENT for m in rows)
        bar.update(sent_bar, completed=sent)
        if len(rows) >= args.sends and sent == len(rows):
            return True
        if not console.is_terminal and int(time.monotonic()) % 15 == 0:
            console.print(f"{label}: {sent}/{args.sends} recorded sent")
        await asyncio.sleep(1)
    return False


async def baseline(
    db: Database,
    batch: Batch,
    sink: KillSink,
    env: dict[str, str],
    work: Path,
    args: argparse.Namespace,
    bar: Progress,
) -> dict[str, Any]:
    """The same batch sent by one worker that nobody kills: the time it takes, and no duplicate."""
    job = bar.add_task("baseline, no kill: recorded sent", total=args.sends)
    began = time.perf_counter()
    proc = await start_worker(env, work)
    try:
        complete = await finish(db, batch, args, bar, job, "baseline, no kill")
    finally:
        await stop(proc)
    counts = tally(batch, await emails(db, batch), sink.received, args.sends)
    keep = ("received", "distinct_message_ids", "lost", "duplicates")
    return {"all_sent_s": round(time.perf_counter() - began, 1), "all_sent_in_time": complete} | {
        k: counts[k] for k in keep
    }


async def cure(client: Client, batch: Batch, args: argparse.Namespace, bar: Progress) -> Counter[str]:
    """Pay every case's arrears and wait for its workflow's result: each must end cured."""
    job = bar.add_task("cases cured", total=len(batch.workflow_ids))
    gate = asyncio.Semaphore(32)
    outcomes: Counter[str] = Counter()

    async def pay(wid: str) -> None:
        handle = client.get_workflow_handle(wid, result_type=CaseState)
        async with gate:
            await handle.signal(
                CaseWorkflow.payment,
                PaymentSignal(
                    external_id=f"P-{uuid.uuid4().hex[:10]}",
                    amount=Decimal("1500.00"),
                    currency="USD",
                    received_at=datetime.now(UTC),
                ),
            )
        state = await handle.result()
        outcomes[str(state.outcome.value if state.outcome else None)] += 1
        bar.advance(job)

    try:
        await asyncio.wait_for(asyncio.gather(*(pay(w) for w in batch.workflow_ids)), timeout=args.timeout)
    except TimeoutError:
        outcomes["not completed"] = len(batch.workflow_ids) - sum(outcomes.values())
    return outcomes


def _parts(message: EmailMessage) -> dict[str, str]:
    """What a reader sees, part by part: the headers that matter, and each body's SHA-256."""
    parts = {h: str(message[h]) for h in ("Subject", "Date", "From", "To")}
    for i, part in enumerate(p for p in message.walk() if not p.is_multipart()):
        payload = part.get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
        parts[f"{i}:{part.get_content_type()}"] = hashlib.sha256(body).hexdigest()
    return parts


def tally(batch: Batch, rows: list[Message], received: list[Received], sends: int) -> dict[str, Any]:
    """Every count the benchmark reports; the lists name the messages behind the counts."""
    ours = [r for r in received if any(a.endswith(f"-{batch.tag}@example.org") for a in r.envelope_to)]
    raw = Counter(r.message_id for r in ours)
    never_received = {m.message_id for m in rows} - set(raw)
    never_recorded = {m.message_id for m in rows if m.status is not MessageStatus.SENT}
    without_row = sends - len({m.case_id for m in rows})
    # a copy of a message under another Message-ID: an address given an ID not of its own messages
    own: dict[str, set[str]] = defaultdict(set)
    for m in rows:
        own[batch.address[m.case_id]].add(m.message_id)
    copies: dict[str, list[Received]] = defaultdict(list)
    for r in ours:
        copies[r.message_id].append(r)
    duplicated: list[dict[str, Any]] = []
    for mid, seen in copies.items():
        if len(seen) > 1:
            parts = [_parts(r.message) for r in seen]
            differ = {
                k.split(":")[-1]
                for p in parts[1:]
                for k in p.keys() | parts[0].keys()
                if p.get(k) != parts[0].get(k)
            }
            span = round(seen[-1].at - seen[0].at, 2)
            duplicated.append(
                {"message_id": mid, "copies": len(seen), "differ_in": sorted(differ), "first_to_last_s": span}
            )
    return {
        "expected": sends,
        "recorded_sent": sum(m.status is MessageStatus.SENT for m in rows),
        "received": len(ours),
        "distinct_message_ids": len(raw),
        "lost": len(never_received | never_recorded) + without_row,
        "duplicates": len(ours) - len(raw),
        "duplicates_with_other_content": sum(bool(set(d["differ_in"]) - {"Date"}) for d in duplicated),
        "most_copies_of_one_message": max(raw.values(), default=0),
        "statuses": dict(Counter(m.status.value for m in rows)),
        "cases_without_an_email_row": without_row,
        "lost_never_received": sorted(never_received),
        "lost_never_recorded_sent": sorted(never_recorded),
        "copies_under_another_message_id": sorted(
            {f"{a} got {r.message_id}" for r in ours for a in r.envelope_to if r.message_id not in own[a]}
        ),
        "message_ids_of_no_message": sorted(set(raw) - {m.message_id for m in rows}),
        "duplicated_messages": duplicated,
    }


async def run(args: argparse.Namespace, url: str, address: str, work: Path) -> dict[str, Any]:
    client = await wait_for_temporal(address, "default")
    await ensure_search_attributes(client)
    db = Database(url)
    sink = KillSink(delay=args.smtp_delay, envelope_delay=args.envelope_delay)
    queue, base_queue = f"kills-{uuid.uuid4()}", f"baseline-{uuid.uuid4()}"
    try:
        with SmtpServer(sink):
            base_batch = await open_cases(db, client, base_queue, args.sends)
            batch = await open_cases(db, client, queue, args.sends)
            env = worker_env(url, address, queue, sink.port, args, work)
            code = code_version()  # what the first worker ran; each restart reads the files again
            with Progress(console=console) as bar:
                base_env = worker_env(url, address, base_queue, sink.port, args, work)
                base = await baseline(db, base_batch, sink, base_env, work, args, bar)
                began = time.perf_counter()
                sent_bar = bar.add_task("e-mails recorded sent", total=args.sends)
                kills = await kill_loop(db, batch, sink, env, work, args, bar, sent_bar)
                killing = time.perf_counter() - began
                last = await start_worker(env, work)
                try:
                    complete = await finish(db, batch, args, bar, sent_bar, "last worker")
                    all_sent = time.perf_counter() - began
                    outcomes = await cure(client, batch, args, bar) if complete else Counter()
                finally:
                    await stop(last)
            wall = time.perf_counter() - began
            rows = await emails(db, batch)
    finally:
        await db.dispose()
    counts = tally(batch, rows, sink.received, args.sends)
    landings = Counter(k["landed"] for k in kills)
    in_window = landings[ACCEPTED] + landings[REPLIED]
    return {
        "sends": args.sends,
        "kills_asked": args.kills,
        "kills": len(kills),
        "kills_mid_send": len(kills) - landings[IDLE] - landings[DONE],
        "kills_in_unrecorded_window": in_window,
        "seed": args.seed,
        "code": code,
        "knobs": {
            "worker_max_activities": args.activities,
            "smtp_envelope_delay_s": args.envelope_delay,
            "smtp_reply_delay_s": args.smtp_delay,
            "kill_within_s_of_exchange_start": round(
                args.envelope_delay + args.smtp_delay + args.after_reply, 3
            ),
        },
        **{k: v for k, v in counts.items() if not isinstance(v, list)},
        "all_sent_in_time": complete,
        "case_outcomes": dict(outcomes),
        "kill_phase_s": round(killing, 1),
        "all_sent_s": round(all_sent, 1),
        "wall_s": round(wall, 1),
        "kill_landings": dict(landings),
        "details": {k: v for k, v in counts.items() if isinstance(v, list) and v},
        "baseline": base,
        "all_sent_vs_baseline": round(all_sent / max(base["all_sent_s"], 0.1), 1),
        "kill_log": kills,
    }


def verdicts(f: dict[str, Any]) -> list[str]:
    """Everything that makes the run fail."""
    bad = []
    if f["lost"]:
        bad.append(f"{f['lost']} message(s) lost")
    for name in ("copies_under_another_message_id", "message_ids_of_no_message"):
        if f["details"].get(name):
            bad.append(f"{name.replace('_', ' ')}: {len(f['details'][name])}")
    if not f["all_sent_in_time"]:
        bad.append("not every e-mail was recorded sent before the timeout")
    base = f["baseline"]
    if base["lost"] or base["duplicates"] or not base["all_sent_in_time"]:
        bad.append(f"with no kill at all: {base['lost']} lost, {base['duplicates']} duplicates")
    cured = f["case_outcomes"].get(CaseOutcome.CURED.value, 0)
    if cured != f["sends"]:
        bad.append(f"{f['sends'] - cured} case(s) did not complete cured: {f['case_outcomes']}")
    return bad


def report(f: dict[str, Any], bad: list[str]) -> None:
    details = f["details"]
    table = Table(title=f"{f['kills']} SIGKILLs of `arrears worker` while it sent {f['sends']} e-mails")
    table.add_column("count")
    table.add_column("value", justify="right")
    table.add_column("must be", justify="right")
    for name, value, must in (
        ("messages expected", f["expected"], ""),
        ("recorded sent", f["recorded_sent"], f["expected"]),
        ("received by the SMTP server", f["received"], f">= {f['expected']}"),
        ("distinct Message-IDs received", f["distinct_message_ids"], f["expected"]),
        ("lost", f["lost"], 0),
        ("duplicates (same Message-ID again)", f["duplicates"], ""),
        ("  of which with other content", f["duplicates_with_other_content"], ""),
        ("copies under another Message-ID", len(details.get("copies_under_another_message_id", [])), 0),
        ("Message-IDs of no message", len(details.get("message_ids_of_no_message", [])), 0),
        ("cases cured at the end", f["case_outcomes"].get(CaseOutcome.CURED.value, 0), f["sends"]),
        ("kills done", f["kills"], f["kills_asked"]),
        ("  after an exchange began", f["kills_mid_send"], ""),
        ("  between server's take and recorded outcome", f["kills_in_unrecorded_window"], ""),
        ("kill phase (s)", f["kill_phase_s"], ""),
        ("until all recorded sent (s)", f["all_sent_s"], ""),
        ("  the same batch with no kill (s)", f["baseline"]["all_sent_s"], ""),
        ("  ratio", f"{f['all_sent_vs_baseline']}x", ""),
        ("duplicates with no kill", f["baseline"]["duplicates"], 0),
        ("wall time, intake excluded (s)", f["wall_s"], ""),
    ):
        table.add_row(name, str(value), str(must))
    console.print(table)
    console.print("kills landed: " + ", ".join(f"{k} {v}" for k, v in f["kill_landings"].items()))
    differ = Counter(p for d in details.get("duplicated_messages", []) for p in d["differ_in"])
    if differ:
        console.print(
            "duplicates differ from the first copy in: " + ", ".join(f"{k} {v}" for k, v in differ.items())
        )
    for line in bad:
        console.print(f"[red]FAIL[/] {line}")
    if "worker_log" in f:
        console.print(f"the workers' log is kept in {f['worker_log']}")
    if not bad:
        console.print("[green]nothing lost, no copy under another Message-ID, every case completed[/]")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=200, help="cases opened, one e-mail each (200)")
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs of the worker (200)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments (random)")
    parser.add_argument("--activities", type=int, default=2, help="WORKER_MAX_ACTIVITIES (2)")
    parser.add_argument("--smtp-delay", type=float, default=0.5, help="s the server holds its reply (0.5)")
    parser.add_argument("--envelope-delay", type=float, default=0.1, help="s the server takes per RCPT (0.1)")
    parser.add_argument(
        "--after-reply", type=float, default=0.4, help="s after the reply a kill may land (0.4)"
    )
    parser.add_argument("--wait", type=float, default=60, help="s a worker gets to begin an exchange (60)")
    parser.add_argument("--timeout", type=float, default=900, help="s for the last worker to finish (900)")
    args = parser.parse_args()
    # Stopped from outside (even when started in the background, where SIGINT is ignored), the
    # workers and servers are still stopped and the scratch folder removed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as folder:
        work = Path(folder)
        postgres = EmbeddedPostgres(work / "pgdata", delete_on_stop=True)
        temporal = TemporalDevServer(
            db_file=work / "temporal.db", port=free_port(), ui_port=None, log_file=work / "temporal.log"
        )
        postgres.start()
        temporal.start()
        try:
            migrate.upgrade(postgres.ensure_database("arrears_bench"))  # as the owner
            url = postgres.app_url("arrears_bench")  # the application's login, which owns nothing
            figures = asyncio.run(run(args, url, temporal.address, work))
        finally:
            temporal.stop()
            postgres.stop()
        figures["total_s"] = round(time.perf_counter() - started, 1)  # servers and intake included
        bad = verdicts(figures)
        if bad:  # the scratch folder goes: keep what the workers wrote
            log = Path(tempfile.gettempdir()) / f"arrears-worker-kills-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
            log.write_bytes((work / "worker.log").read_bytes())
            figures["worker_log"] = str(log)
    report(figures, bad)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"worker-kills-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"benchmark": "worker-kills", **figures, "failures": bad}, indent=2) + "\n")
    console.print(f"written to {out.relative_to(ROOT)}")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
