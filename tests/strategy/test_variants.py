"""Strategies are variants of a pack: they change how a case is worked, never the law. A variant
that would weaken a legal minimum is refused with the rule it breaks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from arrears import audit
from arrears.db import Database
from arrears.strategy import strategies
from models.enums import Channel, PolicyPack, Segment
from models.strategy import Strategy
from policies import get_pack
from policies.strategy import CadenceEntry, Cap, Variant, VariantRefused, apply, violations

US = get_pack(PolicyPack.US_MORTGAGE)
ACTOR = audit.Actor("test", "admin")


def test_a_mild_variant_changes_tone_channels_and_the_offer_day() -> None:
    mild = strategies.builtin("us-mild")
    assert violations(US, mild) == []
    pack = apply(US, mild)
    for segment in Segment:
        documents = [r.document for r in pack.cadence[segment]]
        assert "late_notice" not in documents
        reminders = [r for r in pack.cadence[segment] if r.document != "reminder_direct_debit"]
        assert [r.channel for r in reminders] == [Channel.EMAIL, Channel.SMS, Channel.LETTER][
            : len(reminders)
        ]
        offers = [r for r in pack.cadence[segment] if r.document == "reminder_direct_debit"]
        assert [r.day for r in offers] == [5]
    # everything the law sets is the pack's own
    assert pack.frequency_caps == US.frequency_caps
    assert pack.foreclosure_day == US.foreclosure_day  # type: ignore[attr-defined]


def test_a_strict_variant_sends_late_notices_where_the_pack_has_them() -> None:
    strict = apply(US, strategies.builtin("us-strict"))
    assert {r.document for r in strict.cadence[Segment.GOOD]} == {"late_notice"}
    nl = get_pack(PolicyPack.NL_CONSUMER)
    nl_strict = apply(nl, Variant(pack=PolicyPack.NL_CONSUMER, name="nl-strict", tone="strict"))
    # no late notice exists in Dutch: the strict tone keeps the letters that exist
    assert all(r.document in ("reminder",) for r in nl_strict.cadence[Segment.GOOD])


def test_a_longer_notice_and_a_later_letter_are_lawful() -> None:
    nl = get_pack(PolicyPack.NL_CONSUMER)
    variant = strategies.builtin("nl-early-letter")
    pack = apply(nl, variant)
    assert pack.letter_period_days == 21  # type: ignore[attr-defined]
    assert pack.letter_day[Segment.GOOD] == 14  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("variant", "rule", "says"),
    [
        (
            Variant(
                pack=PolicyPack.US_MORTGAGE,
                name="too-early",
                cadence={Segment.GOOD: [CadenceEntry(day=0, channel=Channel.EMAIL, document="reminder")]},
            ),
            "us_mortgage.reminders.cadence",
            "no reminder before day 1",
        ),
        (
            Variant(
                pack=PolicyPack.US_MORTGAGE,
                name="dialler",
                frequency_caps={Channel.CALL: Cap(limit=8, days=7)},
            ),
            "us_mortgage.reg_f.call_frequency",
            "8 in 7 days allows more than 7 in 7 days",
        ),
        (
            Variant(
                pack=PolicyPack.US_MORTGAGE,
                name="spread",
                frequency_caps={Channel.CALL: Cap(limit=7, days=6)},
            ),
            "12 CFR 1006.14(b)(2)(i)(A)",
            "7 in 6 days",
        ),
        (
            Variant(pack=PolicyPack.US_MORTGAGE, name="night-owl", contact_window=(7, 22)),
            "us_mortgage.reg_f.inconvenient_time",
            "07:00-22:00 is outside 08:00-21:00",
        ),
        (
            Variant(pack=PolicyPack.US_MORTGAGE, name="pushy", call_pause_days=3),
            "us_mortgage.reg_f.call_after_conversation",
            "3 days after a conversation",
        ),
        (
            Variant(pack=PolicyPack.NL_CONSUMER, name="short-notice", notice_days=10),
            "nl_consumer.reminders.cadence",
            "10 days of notice: the law gives at least 14",
        ),
        (
            Variant(pack=PolicyPack.SE_CONSUMER, name="dear", reminder_fee=Decimal("100.00")),
            "se_consumer.fees.reminder",
            "100.00 is above the cap of 60.00",
        ),
        (
            Variant(pack=PolicyPack.US_MORTGAGE, name="fee", reminder_fee=Decimal("25.00")),
            "us_mortgage.reminders.cadence",
            "the pack allows no fee for a reminder",
        ),
    ],
)
def test_a_variant_that_weakens_a_legal_minimum_is_refused(variant: Variant, rule: str, says: str) -> None:
    pack = get_pack(variant.pack)
    with pytest.raises(VariantRefused) as refused:
        apply(pack, variant)
    message = str(refused.value)
    assert f"strategy {variant.label} for {variant.pack.value} is refused" in message
    assert rule in message and says in message


def test_a_cheaper_fee_and_a_narrower_window_are_lawful() -> None:
    se = get_pack(PolicyPack.SE_CONSUMER)
    variant = Variant(
        pack=PolicyPack.SE_CONSUMER, name="kind", reminder_fee=Decimal("40.00"), contact_window=(9, 18)
    )
    assert violations(se, variant) == []
    assert apply(se, variant).contact_window == (9, 18)


def test_a_malformed_strategy_gets_a_clear_error() -> None:
    with pytest.raises(
        strategies.StrategyError, match="tone: Input should be 'mild', 'standard' or 'strict'"
    ):
        strategies.parse({"pack": "us_mortgage", "name": "x", "tone": "shouty"})
    with pytest.raises(strategies.StrategyError, match="max_calls: Extra inputs are not permitted"):
        strategies.parse({"pack": "us_mortgage", "name": "x", "max_calls": 20})


async def test_storing_refuses_a_weakening_variant_and_keeps_lawful_ones(strategy_db: Database) -> None:
    weak = Variant(
        pack=PolicyPack.US_MORTGAGE, name="weak-store", frequency_caps={Channel.CALL: Cap(limit=9, days=7)}
    )
    async with strategy_db.session() as session:
        with pytest.raises(VariantRefused, match=r"reg_f\.call_frequency"):
            await strategies.store(session, weak, actor=ACTOR)
        row = await strategies.store(session, strategies.builtin("us-mild"), actor=ACTOR)
        assert (await strategies.store(session, strategies.builtin("us-mild"), actor=ACTOR)).id == row.id
        changed = strategies.builtin("us-mild").model_copy(update={"offer_day": 9})
        with pytest.raises(strategies.StrategyError, match="give it a new version"):
            await strategies.store(session, changed, actor=ACTOR)
    async with strategy_db.session() as session:
        names = set((await session.exec(select(Strategy.name))).all())
    assert "weak-store" not in names and "us-mild" in names
