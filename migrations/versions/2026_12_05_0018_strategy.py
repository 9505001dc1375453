"""strategy: scorecard model versions, score runs and case scores; strategies (pack variants);
experiments, their arms and each case's assignment

Revision ID: 0018
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PACKS = ("us_mortgage", "nl_consumer", "se_consumer", "be_consumer")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "score_model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("training_rows", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_model_versions")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_score_model_versions_name_version")),
    )
    op.create_table(
        "score_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("cases_scored", sa.Integer(), nullable=False),
        sa.Column("psi_cure", sa.Float(), nullable=False),
        sa.Column("psi_roll", sa.Float(), nullable=False),
        sa.Column("drift", sa.String(length=16), nullable=False),
        _ts("ran_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.create_table(
        "case_scores",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("p_cure", sa.Float(), nullable=False),
        sa.Column("p_roll", sa.Float(), nullable=False),
        sa.Column("shade", sa.Integer(), nullable=False),
        sa.Column("segment", _enum("segment", "good", "forgetful", "bad"), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        _ts("scored_at"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_scores_case_id_cases")),
        sa.ForeignKeyConstraint(["run_id"], ["score_runs.id"], name=op.f("fk_case_scores_run_id_score_runs")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_scores")),
    )
    op.create_index(op.f("ix_case_scores_run_id"), "case_scores", ["run_id"])
    op.create_index(op.f("ix_case_scores_shade"), "case_scores", ["shade"])
    op.create_table(
        "strategies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_pack", _enum("policypack", *PACKS), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("status", _enum("strategystatus", "draft", "champion", "retired"), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
        sa.UniqueConstraint(
            "policy_pack", "name", "version", name=op.f("uq_strategies_policy_pack_name_version")
        ),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("policy_pack", _enum("policypack", *PACKS), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("status", _enum("experimentstatus", "running", "ended"), nullable=False),
        sa.Column("max_dispute_rate", sa.Float(), nullable=False),
        sa.Column("max_complaint_rate", sa.Float(), nullable=False),
        sa.Column("guardrail_min_cases", sa.Integer(), nullable=False),
        sa.Column("winner", sa.String(length=30), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _ts("created_at"),
        _ts("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    # at most one running experiment per pack: a new case has one draw to take
    op.create_index(
        "uq_experiments_running_pack",
        "experiments",
        ["policy_pack"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "experiment_arms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("champion", sa.Boolean(), nullable=False),
        sa.Column("status", _enum("armstatus", "active", "stopped"), nullable=False),
        sa.Column("stopped_reason", sa.String(length=300), nullable=True),
        _ts("stopped_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_experiment_arms_experiment_id_experiments")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name=op.f("fk_experiment_arms_strategy_id_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_arms")),
        sa.UniqueConstraint("experiment_id", "name", name=op.f("uq_experiment_arms_experiment_id_name")),
    )
    op.create_index(op.f("ix_experiment_arms_experiment_id"), "experiment_arms", ["experiment_id"])
    op.create_table(
        "experiment_assignments",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("arm_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        _ts("assigned_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_experiment_assignments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_assignments_experiment_id_experiments"),
        ),
        sa.ForeignKeyConstraint(
            ["arm_id"], ["experiment_arms.id"], name=op.f("fk_experiment_assignments_arm_id_experiment_arms")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_experiment_assignments")),
        sa.UniqueConstraint(
            "experiment_id", "sequence", name=op.f("uq_experiment_assignments_experiment_id_sequence")
        ),
    )
    op.create_index(
        op.f("ix_experiment_assignments_experiment_id"), "experiment_assignments", ["experiment_id"]
    )
    op.create_index(op.f("ix_experiment_assignments_arm_id"), "experiment_assignments", ["arm_id"])
    # a case keeps its arm for life: the application may add an assignment, never move or drop one
    op.execute("REVOKE UPDATE, DELETE ON experiment_assignments FROM arrears_app")


def downgrade() -> None:
    op.drop_table("experiment_assignments")
    op.drop_table("experiment_arms")
    op.drop_index("uq_experiments_running_pack", table_name="experiments")
    op.drop_table("experiments")
    op.drop_table("strategies")
    op.drop_table("case_scores")
    op.drop_table("score_runs")
    op.drop_table("score_model_versions")
