"""Training from the servicer's history and scoring the open cases: model versions in the
database, each run's population stability against training, and each case's shade of red."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from arrears.strategy import features, scorecard
from arrears.strategy.scorecard import ScoreModel
from models.audit_actions import AuditAction
from models.base import utcnow
from models.enums import PolicyPack, Segment
from models.strategy import CaseScore, ScoreModelVersion, ScoreRun
from policies import get_pack
from policies.strategy import STRATEGY_RULE, days_to_legal_step, scored_segment, shade, shade_reason

log = logging.getLogger(__name__)
DEFAULT_SOURCE = "default model shipped with the project"


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: uuid.UUID
    model: str
    cases: int
    psi: dict[str, float]
    drift: str


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
    rows = await session.execute(
        text("SELECT id::text, policy_pack, COALESCE(segment, 'good') FROM cases WHERE status = 'open'")
    )
    packs: dict[str, tuple[str, str]] = {r[0]: (r[1], r[2]) for r in rows.all()}
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
    if scores is not None:
        now = utcnow()
        values = []
        for (_, row), (_, s) in zip(frame.iterrows(), scores.iterrows(), strict=True):
            pack_name, pack_segment = packs.get(row["case_id"], (PolicyPack.US_MORTGAGE.value, "good"))
            dpd = int(row["days_past_due"])
            p_cure, p_roll = float(s["p_cure"]), float(s["p_roll"])
            deadline = days_to_legal_step(get_pack(PolicyPack(pack_name)), dpd)
            values.append(
                {
                    "case_id": uuid.UUID(row["case_id"]),
                    "run_id": run_row.id,
                    "p_cure": p_cure,
                    "p_roll": p_roll,
                    "shade": shade(p_cure=p_cure, p_roll=p_roll, days_past_due=dpd, deadline_days=deadline),
                    "segment": scored_segment(Segment(pack_segment), p_cure=p_cure, p_roll=p_roll),
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
    return RunResult(run_row.id, f"{model.name} v{model.version}", len(frame), psi, drift)
