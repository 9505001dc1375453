"""Strategy: scorecard model versions and their runs, case scores, strategies (pack variants),
experiments with their arms, and each case's assignment to an arm (kept for the case's life)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk
from models.enums import PolicyPack, Segment


class StrategyStatus(StrEnum):
    DRAFT = "draft"  # stored and lawful, not in use
    CHAMPION = "champion"  # the pack's strategy for cases outside any experiment
    RETIRED = "retired"  # a former champion


class ExperimentStatus(StrEnum):
    RUNNING = "running"
    ENDED = "ended"  # promoted or stopped: assigns no more cases


class ArmStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # a guardrail stopped it: assigns no more cases


class ScoreModelVersion(SQLModel, table=True):
    """A trained scorecard: its body (bins, coefficients, baseline) and its card."""

    __tablename__ = "score_model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=64)
    version: int
    sha256: str = Field(max_length=64)
    source: str = Field(max_length=200)
    training_rows: int
    body: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    card: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = False
    created_at: datetime = timestamp()


class ScoreRun(SQLModel, table=True):
    """One scoring of the open cases, with the population's stability against training."""

    __tablename__ = "score_runs"

    id: uuid.UUID = uuid_pk()
    model_name: str = Field(max_length=64)
    model_version: int
    model_sha256: str = Field(max_length=64)
    cases_scored: int
    psi_cure: float = Field(sa_column=Column(Float, nullable=False))
    psi_roll: float = Field(sa_column=Column(Float, nullable=False))
    drift: str = Field(max_length=16)  # stable, watch, act
    ran_at: datetime = timestamp()


class CaseScore(SQLModel, table=True):
    """A case's latest score and what it decided: its segment and shade of red (1 most urgent)."""

    __tablename__ = "case_scores"

    case_id: uuid.UUID = Field(foreign_key="cases.id", primary_key=True)
    run_id: uuid.UUID = Field(foreign_key="score_runs.id", index=True)
    p_cure: float = Field(sa_column=Column(Float, nullable=False))
    p_roll: float = Field(sa_column=Column(Float, nullable=False))
    shade: int = Field(ge=1, le=50, index=True)
    segment: Segment = enum_field(Segment)
    reason: str = Field(max_length=300)
    scored_at: datetime = timestamp()


class Strategy(SQLModel, table=True):
    """A versioned variant of a pack, stored only once its validation passed."""

    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("policy_pack", "name", "version"),)

    id: uuid.UUID = uuid_pk()
    policy_pack: PolicyPack = enum_field(PolicyPack)
    name: str = Field(max_length=64)
    version: int
    sha256: str = Field(max_length=64)
    body: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: StrategyStatus = enum_field(StrategyStatus, default=StrategyStatus.DRAFT)
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp()


class Experiment(SQLModel, table=True):
    """Champion against challengers on new cases of one pack, by a seeded draw."""

    __tablename__ = "experiments"
    # at most one running experiment per pack: a new case has one draw to take
    __table_args__ = (
        Index(
            "uq_experiments_running_pack",
            "policy_pack",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=30, unique=True)
    policy_pack: PolicyPack = enum_field(PolicyPack)
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_size: int = Field(ge=2, le=1000)  # arms are balanced within each block of draws
    assigned: int = 0  # draws made so far: the next draw's sequence number
    status: ExperimentStatus = enum_field(ExperimentStatus, default=ExperimentStatus.RUNNING)
    max_dispute_rate: float = Field(sa_column=Column(Float, nullable=False))
    max_complaint_rate: float = Field(sa_column=Column(Float, nullable=False))
    guardrail_min_cases: int = 20  # no arm is judged on fewer cases
    winner: str | None = Field(default=None, max_length=30)
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


class ExperimentArm(SQLModel, table=True):
    __tablename__ = "experiment_arms"
    __table_args__ = (UniqueConstraint("experiment_id", "name"),)

    id: uuid.UUID = uuid_pk()
    experiment_id: uuid.UUID = Field(foreign_key="experiments.id", index=True)
    name: str = Field(max_length=30)
    strategy_id: uuid.UUID = Field(foreign_key="strategies.id")
    champion: bool = False
    status: ArmStatus = enum_field(ArmStatus, default=ArmStatus.ACTIVE)
    stopped_reason: str | None = Field(default=None, max_length=300)
    stopped_at: datetime | None = timestamp(nullable=True, default_now=False)


class ExperimentAssignment(SQLModel, table=True):
    """Which arm a case was drawn into, and the draw: one per case, for its whole life."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("experiment_id", "sequence"),)

    case_id: uuid.UUID = Field(foreign_key="cases.id", primary_key=True)
    experiment_id: uuid.UUID = Field(foreign_key="experiments.id", index=True)
    arm_id: uuid.UUID = Field(foreign_key="experiment_arms.id", index=True)
    sequence: int
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    assigned_at: datetime = timestamp()
