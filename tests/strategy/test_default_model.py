"""The default scorecard comes from a generated portfolio: trained on a portfolio's history in
PostgreSQL, the scorecard finds the signal the behaviour model plants, and scores the open
cases; the model that ships, trained on another seed of the same portfolio, finds it too."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from types import MappingProxyType

import pandas as pd
import pytest
from sqlalchemy import text

from arrears import audit, migrate
from arrears.analytics.behaviour import (
    BASE_ROLL_RATES,
    DEFAULT_MODEL,
    SCORECARD_MODEL,
    BehaviourModel,
    falling_behind,
)
from arrears.analytics.generator import month_ends, simulate
from arrears.analytics.loader import generate
from arrears.analytics.types import Bucket
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.strategy import features, scorecard, scoring
from models.enums import Segment

ACTOR = audit.Actor("test", "admin")
# 6,000 loans over 12 months open about 2,000 cases: the stratified held-out 30% has about 620
# cases, some 400 of them curing and 180 rolling. Without a signal the AUC on that many is 0.5
# with a standard deviation of about 0.025 (the Mann-Whitney statistic's under no difference), so
# the bounds below (0.70 for cure, 0.65 for roll) sit six deviations and more above chance; this
# seed measures 0.83 and 0.76. Seed 5 is not the seed of the model that ships (1): to the default
# model these borrowers are new (it measures 0.82 and 0.72 on all of them).
LOANS, MONTHS, SEED = 6_000, 12, 5
UNTIL = date(2026, 11, 30)
MIN_AUC = {"cure": 0.70, "roll": 0.65}


NO_SIGNAL = DEFAULT_MODEL.uniform(BASE_ROLL_RATES)


async def _database(postgres: EmbeddedPostgres) -> Database:
    name = f"arrears_default_model_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(postgres.ensure_database(name))
    return Database(postgres.app_url(name))


@pytest.fixture(scope="module")
async def portfolio(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A database of its own with the scorecard's generated portfolio, as `arrears score train
    --generated` builds it."""
    db = await _database(postgres)
    await generate(db, loans=LOANS, months=MONTHS, seed=SEED, as_of=UNTIL, model=SCORECARD_MODEL)
    yield db
    await db.dispose()


async def _segments(db: Database) -> dict[str, str]:
    """Each case's hidden segment (what the generator planted; no feature reads it)."""
    async with db.session() as session:
        rows = await (await session.connection()).execute(text("SELECT id::text, segment FROM cases"))
        return {r[0]: r[1] for r in rows.all()}


async def test_trained_on_the_portfolio_the_scorecard_finds_the_planted_signal(portfolio: Database) -> None:
    async with portfolio.session() as session:
        frame = await features.history_frame(session, until=UNTIL)
        model = await scoring.train_from_history(session, name="portfolio", until=UNTIL, seed=SEED)
    assert len(frame) > 1_500 and model.training_rows == len(frame)
    for target, bound in MIN_AUC.items():
        held_out = model.targets[target].metrics
        assert held_out["auc"] > bound, (target, held_out)
        assert held_out["ks"] > 0.25, (target, held_out)
        assert held_out["gini"] == pytest.approx(2 * held_out["auc"] - 1)
    # the planted signal is the hidden segment: the scores rank it without ever reading it
    scores = model.score(frame).assign(segment=frame["case_id"].map(await _segments(portfolio)))
    by_segment = scores.groupby("segment")[["p_cure", "p_roll"]].mean()
    assert by_segment.loc["good", "p_cure"] > by_segment.loc["forgetful", "p_cure"]
    assert by_segment.loc["forgetful", "p_cure"] > by_segment.loc["bad", "p_cure"]
    assert by_segment.loc["bad", "p_roll"] > by_segment.loc["good", "p_roll"] + 0.15


async def test_without_the_planted_signal_the_bounds_are_out_of_reach(postgres: EmbeddedPostgres) -> None:
    """The same portfolio with one roll matrix for every segment and no balance signal: what is
    left (late first reports cure less) does not reach the bounds, so passing them takes the
    planted signal."""
    db = await _database(postgres)
    try:
        await generate(db, loans=LOANS, months=MONTHS, seed=SEED, as_of=UNTIL, model=NO_SIGNAL)
        async with db.session() as session:
            model = await scoring.train_from_history(session, name="no-signal", until=UNTIL, seed=SEED)
    finally:
        await db.dispose()
    for target, bound in MIN_AUC.items():
        assert model.targets[target].metrics["auc"] < bound - 0.03, (target, model.targets[target].metrics)


async def test_the_trained_model_scores_the_open_cases(portfolio: Database) -> None:
    async with portfolio.session() as session:
        model = await scoring.train_from_history(session, name="portfolio-run", until=UNTIL, seed=SEED)
        await scoring.store(session, model, actor=ACTOR)
        result = await scoring.run(session, actor=ACTOR)
        connection = await session.connection()
        rows = await connection.execute(
            text(
                "SELECT c.segment, s.p_roll, s.p_cure, s.shade, s.reason FROM case_scores s"
                " JOIN cases c ON c.id = s.case_id WHERE c.status = 'open' AND s.run_id = :run"
            ),
            {"run": result.run_id},
        )
        scored = pd.DataFrame(rows.all(), columns=["segment", "p_roll", "p_cure", "shade", "reason"])
        open_cases = (
            await connection.execute(text("SELECT count(*) FROM cases WHERE status = 'open'"))
        ).scalar_one()
    assert result.model == f"portfolio-run v{model.version}"
    assert open_cases > 100 and result.cases == open_cases == len(scored)
    assert scored["shade"].between(1, 50).all()
    assert scored["reason"].str.contains("days past due").all()
    # today's open cases, scored by the model: the hidden bad borrowers come first in the queue
    by_segment = scored.groupby("segment")[["p_roll", "shade"]].mean()
    assert by_segment.loc["bad", "p_roll"] > by_segment.loc["good", "p_roll"]
    assert by_segment.loc["bad", "shade"] < by_segment.loc["good", "shade"]


async def test_the_shipped_default_was_trained_on_a_generated_portfolio_and_finds_the_signal(
    portfolio: Database,
) -> None:
    default = scorecard.default_model()
    assert default.name == "default"
    assert default.source.startswith("a generated portfolio of 20,000 loans over 24 months")
    assert default.source.endswith("seed 1")
    card = scorecard.card(default)
    assert "a generated portfolio of 20,000 loans" in card and "Calibration" in card
    async with portfolio.session() as session:
        fresh = await features.history_frame(session, until=UNTIL)  # borrowers it never saw
    p = default.score(fresh)
    for target, bound in MIN_AUC.items():
        found = scorecard.metrics(fresh[target].to_numpy(), p[f"p_{target}"].to_numpy())
        assert found["auc"] > bound, (target, found)


def _owed_at_start(model: BehaviourModel) -> dict[str, float]:
    """The mean share of the principal owed at the first report, by the segment of the loans
    that had a case in the year (the segment is the case's)."""
    rows = simulate(seed=3, first=0, count=600, ends=month_ends(UNTIL, 12), model=model)
    principal = {r[0]: float(r[6]) for r in rows.loans}
    first: dict[uuid.UUID, float] = {}
    for s in rows.snapshots:  # in month order: each loan's first is its opening balance
        first.setdefault(s[1], float(s[5]) / principal[s[1]])
    owed = pd.DataFrame([(c[16], first[c[1]]) for c in rows.cases], columns=["segment", "owed"])
    return {str(k): float(v) for k, v in owed.groupby("segment")["owed"].mean().items()}


def test_the_planted_signal_shows_in_what_the_servicer_sees_and_the_default_plants_none() -> None:
    planted = _owed_at_start(SCORECARD_MODEL)
    assert planted["bad"] > planted["good"] + 0.3  # bad borrowers have repaid far less
    assert abs(_owed_at_start(DEFAULT_MODEL)["bad"] - _owed_at_start(DEFAULT_MODEL)["good"]) < 0.1
    # with the range every segment shares, the default portfolio is the same, row for row
    shared = replace(
        DEFAULT_MODEL, segment_balance_left=MappingProxyType(dict.fromkeys(Segment, (0.4, 0.95)))
    )
    ends = month_ends(UNTIL, 6)
    assert simulate(seed=3, first=0, count=50, ends=ends, model=shared) == simulate(
        seed=3, first=0, count=50, ends=ends, model=DEFAULT_MODEL
    )


def test_a_balance_range_or_rate_out_of_bounds_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"segment_balance_left\[bad\]: .* not \(0.9, 0.5\)"):
        replace(DEFAULT_MODEL, segment_balance_left=MappingProxyType({Segment.BAD: (0.9, 0.5)}))
    with pytest.raises(ValueError, match=r"^balance_left: .* not \(-0.1, 0.5\)"):
        replace(DEFAULT_MODEL, balance_left=(-0.1, 0.5))
    with pytest.raises(
        ValueError, match=re.escape("falling behind: a monthly rate between 0 and 0.997, not 1.0")
    ):
        falling_behind(DEFAULT_MODEL.roll_rates, 1.0)
    row = falling_behind(DEFAULT_MODEL.roll_rates, 0.05)[Bucket.CURRENT]
    assert row["1-29"] == 0.05 and row["current"] == pytest.approx(0.947) and row["exited"] == 0.003
