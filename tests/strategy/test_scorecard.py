"""The scorecard finds a planted signal, travels as plain data, watches its population, and runs
on the servicer's own history in PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from arrears import audit
from arrears.db import Database
from arrears.strategy import features, scorecard, scoring, synthetic
from arrears.strategy.scorecard import ScorecardError, ScoreModel
from models.audit import AuditEvent
from models.audit_actions import AuditAction
from models.enums import CaseOutcome
from models.strategy import CaseScore, ScoreRun
from tests.strategy.conftest import add_case

ACTOR = audit.Actor("test", "admin")


@pytest.fixture(scope="module")
def model() -> ScoreModel:
    return scorecard.train(synthetic.history(6000, seed=11), name="test", version=1, source="generated")


def test_the_model_finds_the_planted_signal_on_held_out_cases(model: ScoreModel) -> None:
    fresh = synthetic.history(3000, seed=12)  # borrowers the model never saw
    scores = model.score(fresh)
    for target in ("cure", "roll"):
        held_out = scorecard.metrics(fresh[target].to_numpy(), scores[f"p_{target}"].to_numpy())
        assert held_out["auc"] > 0.7, (target, held_out)
        assert model.targets[target].metrics["auc"] > 0.7
        assert held_out["gini"] == pytest.approx(2 * held_out["auc"] - 1)
        assert held_out["ks"] > 0.25
    # the signal points the right way: recent payers cure more, and roll less
    payers = fresh["payments_90d"] >= 3
    assert scores["p_cure"][payers].mean() > scores["p_cure"][~payers].mean()
    assert scores["p_roll"][payers].mean() < scores["p_roll"][~payers].mean()


def test_without_a_signal_the_model_finds_none() -> None:
    noise = synthetic.history(3000, seed=3)
    rng = random.Random(3)
    noise["cure"] = [rng.random() < 0.3 for _ in range(len(noise))]
    noise["roll"] = [rng.random() < 0.3 for _ in range(len(noise))]
    fitted = scorecard.train(noise, name="noise")
    assert fitted.targets["cure"].metrics["auc"] < 0.6


def test_bins_are_monotonic_and_the_card_shows_them(model: ScoreModel) -> None:
    for target in model.targets.values():
        for b in target.bins:
            rates = b.event_rate
            assert rates == sorted(rates) or rates == sorted(rates, reverse=True) or len(rates) > 2
    text = scorecard.card(model)
    for heading in (
        "AUC",
        "KS",
        "Gini",
        "Calibration",
        "`payments_90d`",
        "| bin | count | event rate | WoE |",
    ):
        assert heading in text
    assert "postcode" in text  # the card says what is left out and why


def test_a_stored_model_scores_exactly_as_trained(model: ScoreModel) -> None:
    again = ScoreModel.from_json(json.loads(json.dumps(model.to_json())))
    frame = synthetic.history(200, seed=5)
    assert (again.score(frame) == model.score(frame)).all().all()
    assert again.sha256 == model.sha256


def test_no_protected_attribute_or_proxy_is_a_feature() -> None:
    names = " ".join(f.name for f in features.FEATURES)
    for word in (
        "name",
        "address",
        "postcode",
        "zip",
        "language",
        "age",
        "birth",
        "country",
        "pack",
        "timezone",
    ):
        assert word not in names.replace("paid_down", "").replace("arrears_share", ""), word


def test_population_drift_is_measured_and_named(model: ScoreModel) -> None:
    same = model.score(synthetic.history(3000, seed=13))
    assert scorecard.psi(model.targets["cure"], same["p_cure"].to_numpy()) < 0.1
    shifted_people = synthetic.history(
        3000, seed=14, behaviour=synthetic.Behaviour(bucket_shares=(0, 0, 0, 0.2, 0.8))
    )
    shifted = model.score(shifted_people)
    value = scorecard.psi(model.targets["cure"], shifted["p_cure"].to_numpy())
    assert value > 0.25
    assert scorecard.drift(value) == "act"
    assert scorecard.drift(0.15) == "watch"
    assert scorecard.drift(0.05) == "stable"


def test_too_little_history_is_refused_with_a_reason() -> None:
    with pytest.raises(ScorecardError, match="at least 200"):
        scorecard.train(synthetic.history(50, seed=1))
    with pytest.raises(ScorecardError, match="columns missing"):
        scorecard.train(synthetic.history(300, seed=1).drop(columns=["payments_90d"]))


async def test_train_on_history_then_score_the_open_cases(strategy_db: Database) -> None:
    """From PostgreSQL: recent payers cured, the others did not; the model learns it, scores the
    open cases, records the run with its PSI, and gives each case a shade and a reason."""
    rng = random.Random(21)
    long_ago = datetime.now(UTC).date() - timedelta(days=200)
    for i in range(260):
        payer = i % 2 == 0
        cured = rng.random() < (0.8 if payer else 0.15)
        await add_case(
            strategy_db,
            days_past_due=rng.randint(5, 80),
            opened=long_ago + timedelta(days=rng.randint(0, 60)),
            payments_before=rng.randint(2, 4) if payer else 0,
            outcome=CaseOutcome.CURED if cured else CaseOutcome.CHARGED_OFF,
            closed_after_days=rng.randint(10, 50) if cured else 120,
        )
    open_cases = [
        await add_case(strategy_db, days_past_due=d, opened=datetime.now(UTC).date() - timedelta(days=5))
        for d in (10, 95)
    ]
    async with strategy_db.session() as session:
        frame = await features.history_frame(session, until=datetime.now(UTC).date())
        assert len(frame) >= 260
        model = await scoring.train_from_history(session, name="servicer", until=datetime.now(UTC).date())
        assert model.targets["cure"].metrics["auc"] > 0.65
        await scoring.store(session, model, actor=ACTOR)
        result = await scoring.run(session, actor=ACTOR)
    assert result.model == f"servicer v{model.version}"
    assert result.cases >= 2
    assert set(result.psi) == {"cure", "roll"}
    async with strategy_db.session() as session:
        run = await session.get(ScoreRun, result.run_id)
        assert run is not None and run.drift in ("stable", "watch", "act")
        scores = {
            s.case_id: s
            for s in (
                await session.exec(
                    select(CaseScore).where(col(CaseScore.case_id).in_([c.id for c in open_cases]))
                )
            ).all()
        }
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.SCORE_RUN))
        ).all()
    low, high = scores[open_cases[0].id], scores[open_cases[1].id]
    assert 1 <= high.shade <= 50 and 1 <= low.shade <= 50
    assert high.shade < low.shade  # 100 days late (opened at 95) comes before 15 days late
    assert "100 days past due" in high.reason and "legal step possible in 21 days" in high.reason
    assert any(e.payload["run"] == str(result.run_id) for e in events)
