"""Training from the servicer's history and scoring the open cases: model versions in the
database, each run's population stability against training, and each case's shade of red."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from arrears import audit
from arrears.strategy import features, scorecard
from arrears.strategy.scorecard import ScoreModel
from models.audit_actions import AuditAction
from models.base import utcnow
from models.enums import PolicyPack, Segment
from models.strategy import CaseScore, ScoreModelVersion, ScoreRun
from policies import get_pack
from policies.strategy import STRATEGY_RULE, days_to_legal_step, scored_segment, shade, shade_reason
from workflows.case.segments import SET_SCORED_SEGMENT, UNCHANGED
from workflows.dto import ScoredSegment

log = logging.getLogger(__name__)
DEFAULT_SOURCE = "default model shipped with the project"


# Sending the scored segments to the case runs: so many at once, each given this long to answer.
SEND_CONCURRENCY = 16
SEND_TIMEOUT = timedelta(seconds=20)
SEND_ATTEMPTS = 4
SCORE_RUN_ACTOR = "arrears-score-run"


@dataclass(frozen=True, slots=True)
class SegmentChange:
    """A scored open case whose scored segment differs from the one its run works it in."""

    case_id: uuid.UUID
    workflow_id: str
    run_id: str  # the case's first run: a case is its run, never the loan's next one
    current: Segment
    segment: Segment


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: uuid.UUID
    model: str
    cases: int
    psi: dict[str, float]
    drift: str
    model_name: str = ""
    model_version: int = 1
    changes: tuple[SegmentChange, ...] = ()


@dataclass(slots=True)
class SegmentSends:
    """What the case runs answered: moved, already there, refused (by reason), not reached."""

    moved: int = 0
    unchanged: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    unreached: int = 0

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


async def next_version(session: AsyncSession, name: str) -> int:
    latest = (
        await session.exec(select(func.max(ScoreModelVersion.version)).where(ScoreModelVersion.name == name))
    ).one()
    return int(latest or 0) + 1


async def train_from_history(session: AsyncSession, *, name: str, until: date, seed: int = 7) -> ScoreModel:
    """Train on every case observed at least 60 days before `until`."""
    frame = await features.history_frame(session, until=until)
    version = await next_version(session, name)
    return scorecard.train(frame, name=name, version=version, source=f"history until {until}", seed=seed)


async def store(
    session: AsyncSession, model: ScoreModel, *, actor: audit.Actor, activate: bool = True
) -> ScoreModelVersion:
    """Keep a trained model as a version, with its card; the active one scores from now on."""
    if activate:
        await session.execute(text("UPDATE score_model_versions SET active = false WHERE active"))
    row = ScoreModelVersion(
        name=model.name,
        version=model.version,
        sha256=model.sha256,
        source=model.source[:200],
        training_rows=model.training_rows,
        body=model.to_json(),
        card=scorecard.card(model),
        active=activate,
    )
    session.add(row)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.SCORE_MODEL_TRAINED,
        reason=f"scorecard {model.name} v{model.version} trained on {model.training_rows} cases",
        rule_id=STRATEGY_RULE.id,
        citation=STRATEGY_RULE.citation,
        payload={
            "model": model.name,
            "version": model.version,
            "sha256": model.sha256,
            "metrics": {name: t.metrics for name, t in model.targets.items()},
            "active": activate,
        },
        idempotency_key=f"score_model:{row.id}:trained",
    )
    return row


async def active(session: AsyncSession) -> ScoreModel:
    """The active model version, or the default that ships with the project."""
    row = (
        await session.exec(
            select(ScoreModelVersion)
            .where(col(ScoreModelVersion.active))
            .order_by(col(ScoreModelVersion.created_at).desc())
        )
    ).first()
    return ScoreModel.from_json(row.body) if row is not None else scorecard.default_model()


async def run(session: AsyncSession, *, actor: audit.Actor) -> RunResult:
    """Score every open case, measure PSI against training (warns past 0.1, acts past 0.25), and
    set each case's segment and shade of red."""
    model = await active(session)
    frame = await features.open_frame(session)
    rows = (await session.execute(_OPEN_CASES)).mappings().all()
    packs: dict[str, tuple[str, str]] = {}
    runs: dict[str, tuple[str, str, Segment]] = {}
    for r in rows:
        opening = _opening_segment(r["policy_pack"], r["segment"], r["days_past_due_at_open"])
        packs[r["id"]] = (r["policy_pack"], opening.value)
        if r["run_id"] is not None:  # the run's segment: the last a score run set, else its opening one
            current = Segment(r["scored"]) if r["scored"] in _SEGMENTS else opening
            runs[r["id"]] = (r["workflow_id"], r["run_id"], current)
    scores = model.score(frame) if len(frame) else None
    psi = {
        name: (scorecard.psi(t, scores[f"p_{name}"].to_numpy()) if scores is not None else 0.0)
        for name, t in model.targets.items()
    }
    drift = scorecard.drift(max(psi.values(), default=0.0))
    run_row = ScoreRun(
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        cases_scored=len(frame),
        psi_cure=psi.get("cure", 0.0),
        psi_roll=psi.get("roll", 0.0),
        drift=drift,
    )
    session.add(run_row)
    await session.flush()
    changes: list[SegmentChange] = []
    if scores is not None:
        now = utcnow()
        values = []
        for (_, row), (_, s) in zip(frame.iterrows(), scores.iterrows(), strict=True):
            pack_name, pack_segment = packs.get(row["case_id"], (PolicyPack.US_MORTGAGE.value, "good"))
            dpd = int(row["days_past_due"])
            p_cure, p_roll = float(s["p_cure"]), float(s["p_roll"])
            deadline = days_to_legal_step(get_pack(PolicyPack(pack_name)), dpd)
            segment = scored_segment(Segment(pack_segment), p_cure=p_cure, p_roll=p_roll)
            known = runs.get(row["case_id"])
            if known is not None and known[2] is not segment:
                workflow_id, first_run, current = known
                changes.append(
                    SegmentChange(uuid.UUID(row["case_id"]), workflow_id, first_run, current, segment)
                )
            values.append(
                {
                    "case_id": uuid.UUID(row["case_id"]),
                    "run_id": run_row.id,
                    "p_cure": p_cure,
                    "p_roll": p_roll,
                    "shade": shade(p_cure=p_cure, p_roll=p_roll, days_past_due=dpd, deadline_days=deadline),
                    "segment": segment,
                    "reason": shade_reason(
                        p_cure=p_cure, p_roll=p_roll, days_past_due=dpd, deadline_days=deadline
                    ),
                    "scored_at": now,
                }
            )
        stmt = insert(CaseScore)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["case_id"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("run_id", "p_cure", "p_roll", "shade", "segment", "reason", "scored_at")
                },
            ),
            values,
        )
    if drift != "stable":
        log.warning(
            "score run %s: population drift %s (PSI cure %.3f, roll %.3f): %s",
            run_row.id,
            drift,
            psi.get("cure", 0.0),
            psi.get("roll", 0.0),
            "retrain the scorecard" if drift == "act" else "watch the population",
        )
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.SCORE_RUN,
        reason=f"{len(frame)} open cases scored with {model.name} v{model.version}; drift {drift}",
        rule_id=STRATEGY_RULE.id,
        citation=STRATEGY_RULE.citation,
        payload={
            "run": str(run_row.id),
            "model": model.name,
            "version": model.version,
            "psi": psi,
            "drift": drift,
        },
        idempotency_key=f"score_run:{run_row.id}",
    )
    return RunResult(
        run_row.id,
        f"{model.name} v{model.version}",
        len(frame),
        psi,
        drift,
        model_name=model.name,
        model_version=model.version,
        changes=tuple(changes),
    )


_SEGMENTS = {s.value for s in Segment}
# Each open case, its first run, and the segment a score run last set on that run (the trail's
# `segment.done` records, keyed `segment.<segment>.<n>` by the case workflow).
_OPEN_CASES = text(
    """
    SELECT c.id::text AS id, c.policy_pack, c.segment, c.days_past_due_at_open, c.workflow_id,
           c.run_id, scored.segment AS scored
    FROM cases c
    LEFT JOIN LATERAL (
        SELECT split_part(a.payload->>'key', '.', 2) AS segment
        FROM audit_events a
        WHERE a.action = :action AND a.case_id = c.id
        ORDER BY a.arrival DESC NULLS LAST, a.occurred_at DESC
        LIMIT 1
    ) scored ON true
    WHERE c.status = 'open'
    """
).bindparams(action=AuditAction.SEGMENT_DONE.value)


def _opening_segment(pack: str, recorded: str | None, days_past_due_at_open: int) -> Segment:
    """The segment the case was opened in: as recorded on the case row, else as its pack's rules
    give it at opening (what the case workflow set)."""
    if recorded in _SEGMENTS:
        return Segment(recorded)
    return get_pack(PolicyPack(pack)).segment(broken_promises=0, days_past_due_at_open=days_past_due_at_open)


async def send_segments(
    client: Client,
    result: RunResult,
    *,
    concurrency: int = SEND_CONCURRENCY,
    answer_within: timedelta = SEND_TIMEOUT,
) -> SegmentSends:
    """Send each changed case's scored segment to its own run (`set_scored_segment`). A run that
    refuses (closed, past the early stage, on the pack's strict track) is counted with its reason,
    one that does not answer within `answer_within` as not reached; neither fails the run. Call it after the
    scores are committed: no transaction stays open across these calls."""
    sends = SegmentSends()
    gate = asyncio.Semaphore(concurrency)

    async def one(change: SegmentChange) -> None:
        async with gate:
            await _send(client, result, change, sends, answer_within)

    await asyncio.gather(*(one(c) for c in result.changes))
    if sends.unreached:
        log.warning("score run %s: %d case runs did not answer", result.run_id, sends.unreached)
    return sends


async def _send(
    client: Client, result: RunResult, change: SegmentChange, sends: SegmentSends, answer_within: timedelta
) -> None:
    handle = client.get_workflow_handle(change.workflow_id, first_execution_run_id=change.run_id)
    command = ScoredSegment(
        by=SCORE_RUN_ACTOR,
        role="system",
        reason=f"score run {result.run_id}",
        segment=change.segment,
        model=result.model_name,
        model_version=result.model_version,
        run_id=result.run_id,
    )
    update_id = f"score-{result.run_id}-{change.case_id}"  # the engine runs an update ID once
    for attempt in range(SEND_ATTEMPTS):
        try:
            await asyncio.wait_for(
                handle.execute_update(SET_SCORED_SEGMENT, command, id=update_id, result_type=str),
                answer_within.total_seconds(),
            )
            sends.moved += 1
            return
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == UNCHANGED:
                sends.unchanged += 1
            else:
                sends.refused[
                    cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
                ] += 1
            return
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                sends.refused["the case's run is over"] += 1
                return
            # the workflow task carrying the update was turned back by an event: the engine asks again
            if "workflow task failure" in exc.message and attempt + 1 < SEND_ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            sends.unreached += 1
            return
        except TimeoutError:
            sends.unreached += 1
            return
