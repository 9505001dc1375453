"""Strategies: versioned variants of a pack (cadence, channel order, tone, timing of offers).

A variant changes how a case is worked, never the law it is worked under: it inherits the pack's
legal minimums, and `violations` lists every way it would weaken one (a reminder before the
earliest day, fewer days of notice, more calls or messages than the caps allow, a wider contact
window, a fee above the cap). `apply` refuses such a variant; a lawful one becomes a copy of the
pack (its reminder fee the variant's). Pure and deterministic: the case workflow applies the variant
it was started with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.enums import Channel, PolicyPack, Segment
from policies.base import Pack, Reminder, Rule

STRATEGY_RULE = Rule("strategy.variant", "servicing policy: a strategy variant within the pack's rules")
# A reminder is a collection communication about an instalment that is late: not before the day
# after the due date (the first day of delinquency).
EARLIEST_REMINDER_DAY = 1
CENT = Decimal("0.01")
# Documents a reminder may send, per pack: a template exists for each in every pack language.
CADENCE_DOCUMENTS: dict[PolicyPack, frozenset[str]] = {
    PolicyPack.US_MORTGAGE: frozenset({"reminder", "reminder_direct_debit", "late_notice"}),
    PolicyPack.NL_CONSUMER: frozenset({"reminder", "reminder_direct_debit"}),
    PolicyPack.SE_CONSUMER: frozenset({"reminder", "reminder_direct_debit"}),
    PolicyPack.BE_CONSUMER: frozenset({"reminder", "reminder_direct_debit"}),
}
OFFER_DOCUMENT = "reminder_direct_debit"  # the letter that offers a direct debit or a plan
# The field of each pack that holds the day of its formal letter, and the days of notice it gives.
LETTER_DAY_FIELD = {
    PolicyPack.NL_CONSUMER: "letter_day",
    PolicyPack.SE_CONSUMER: "demand_day",
    PolicyPack.BE_CONSUMER: "letter_day",
}
NOTICE_DAYS_FIELD = {
    PolicyPack.NL_CONSUMER: "letter_period_days",
    PolicyPack.SE_CONSUMER: "payment_period_days",
}


class Tone(StrEnum):
    MILD = "mild"  # reminders only, no late notice
    STANDARD = "standard"  # the pack's own documents
    STRICT = "strict"  # late notices where the pack has them, no direct-debit nudges


_TONE_DOCUMENTS: dict[Tone, dict[str, str]] = {
    Tone.MILD: {"late_notice": "reminder"},
    Tone.STANDARD: {},
    Tone.STRICT: {"reminder": "late_notice", "reminder_direct_debit": "reminder"},
}


class Cap(BaseModel):
    """At most `limit` contacts in `days` days on one channel."""

    model_config = ConfigDict(frozen=True)

    limit: int = Field(ge=0, le=100)
    days: int = Field(ge=1, le=365)


class CadenceEntry(BaseModel):
    """On day `day` of delinquency, send `document` by `channel`."""

    model_config = ConfigDict(frozen=True)

    day: int = Field(ge=-60, le=365)
    channel: Channel
    document: str = Field(max_length=64)


class Variant(BaseModel):
    """A versioned variant of a pack: how cases are worked under it. Unset fields keep the pack's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pack: PolicyPack
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    version: int = Field(default=1, ge=1)
    description: str = Field(default="", max_length=300)
    # the reminders per segment; None: the pack's cadence
    cadence: dict[Segment, list[CadenceEntry]] | None = None
    # the channels reminders take, in turn (the first reminder the first channel, ...)
    channel_order: list[Channel] | None = None
    tone: Tone = Tone.STANDARD
    # the day of delinquency on which the direct-debit/plan offer goes out; None: as the cadence has it
    offer_day: int | None = Field(default=None, ge=-60, le=365)
    # the formal letter's day per segment (NL 14-dagenbrief, SE inkassokrav, BE first reminder)
    letter_day: dict[Segment, int] | None = None
    notice_days: int | None = Field(default=None, ge=0, le=365)  # days the formal letter gives
    frequency_caps: dict[Channel, Cap] | None = None
    contact_window: tuple[int, int] | None = None
    call_pause_days: int | None = Field(default=None, ge=0, le=60)  # no call for N days after a talk
    reminder_fee: Decimal | None = Field(default=None, ge=0, le=Decimal("100000"), decimal_places=2)

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One way a variant would weaken the law it runs under."""

    rule: Rule
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} ({self.rule.id}; {self.rule.citation})"


class VariantRefused(ValueError):
    """A variant that would weaken a legal minimum of its pack."""

    def __init__(self, variant: Variant, violations: list[Violation]) -> None:
        self.variant = variant
        self.violations = violations
        lines = "; ".join(str(v) for v in violations)
        super().__init__(f"strategy {variant.label} for {variant.pack.value} is refused: {lines}")


def cadence(pack: Pack, variant: Variant) -> dict[Segment, tuple[Reminder, ...]]:
    """The reminders per segment under the variant: its own or the pack's, in its channel order and
    tone, with the offer on its day."""
    result: dict[Segment, tuple[Reminder, ...]] = {}
    for segment, base in pack.cadence.items():
        entries: list[Reminder] = (
            [Reminder(e.day, e.channel, e.document) for e in variant.cadence.get(segment, [])]
            if variant.cadence is not None and segment in variant.cadence
            else list(base)
        )
        mapping = _TONE_DOCUMENTS[variant.tone]
        known = CADENCE_DOCUMENTS[pack.name]
        entries = [
            dataclasses.replace(r, document=mapping[r.document])
            if r.document in mapping and mapping[r.document] in known
            else r
            for r in entries
        ]
        if variant.offer_day is not None:
            # the offer takes the place of the direct-debit nudge, and of a reminder on its day
            entries = [r for r in entries if r.document != OFFER_DOCUMENT and r.day != variant.offer_day]
        entries.sort(key=lambda r: r.day)
        if variant.channel_order:
            order = variant.channel_order
            entries = [dataclasses.replace(r, channel=order[i % len(order)]) for i, r in enumerate(entries)]
        if variant.offer_day is not None:
            channel = variant.channel_order[0] if variant.channel_order else Channel.EMAIL
            entries.append(Reminder(variant.offer_day, channel, OFFER_DOCUMENT))
        result[segment] = tuple(sorted(entries, key=lambda r: r.day))
    return result


def violations(pack: Pack, variant: Variant) -> list[Violation]:
    """Every legal minimum of `pack` the variant would weaken; empty: it is lawful."""
    found: list[Violation] = []
    if variant.pack is not pack.name:
        found.append(Violation(STRATEGY_RULE, "pack", f"the variant is for {variant.pack.value}"))
        return found
    for segment, reminders in cadence(pack, variant).items():
        for r in reminders:
            if r.day < EARLIEST_REMINDER_DAY:
                found.append(
                    Violation(
                        pack.reminder_rule,
                        f"cadence.{segment.value}",
                        f"a {r.document} on day {r.day}: no reminder before day {EARLIEST_REMINDER_DAY}"
                        " of delinquency",
                    )
                )
            if r.document not in CADENCE_DOCUMENTS[pack.name]:
                found.append(
                    Violation(
                        STRATEGY_RULE,
                        f"cadence.{segment.value}",
                        f"no {r.document!r} letter exists in {pack.name.value}",
                    )
                )
    found += _letters(pack, variant)
    found += _contact(pack, variant)
    if variant.reminder_fee is not None and variant.reminder_fee > 0:
        cap = own_reminder_fee(pack)
        if cap is None:
            found.append(
                Violation(pack.reminder_rule, "reminder_fee", "the pack allows no fee for a reminder")
            )
        elif variant.reminder_fee > cap[0]:
            found.append(
                Violation(cap[1], "reminder_fee", f"{variant.reminder_fee} is above the cap of {cap[0]}")
            )
    return found


def _letters(pack: Pack, variant: Variant) -> list[Violation]:
    found: list[Violation] = []
    if variant.letter_day is not None:
        field = LETTER_DAY_FIELD.get(pack.name)
        if field is None:
            found.append(
                Violation(STRATEGY_RULE, "letter_day", f"{pack.name.value} has no formal letter to move")
            )
        else:
            for segment, day in variant.letter_day.items():
                if day < EARLIEST_REMINDER_DAY:
                    found.append(
                        Violation(
                            pack.reminder_rule,
                            f"letter_day.{segment.value}",
                            f"day {day}: no letter before day {EARLIEST_REMINDER_DAY} of delinquency",
                        )
                    )
    if variant.notice_days is not None:
        field = NOTICE_DAYS_FIELD.get(pack.name)
        if field is None:
            found.append(
                Violation(STRATEGY_RULE, "notice_days", f"{pack.name.value}'s notice periods are fixed")
            )
        else:
            least = int(getattr(pack, field))
            if variant.notice_days < least:
                found.append(
                    Violation(
                        pack.reminder_rule,
                        "notice_days",
                        f"{variant.notice_days} days of notice: the law gives at least {least}",
                    )
                )
    return found


def _contact(pack: Pack, variant: Variant) -> list[Violation]:
    found: list[Violation] = []
    if variant.frequency_caps is not None:
        for channel, (limit, days, rule) in pack.frequency_caps.items():
            cap = variant.frequency_caps.get(channel)  # a channel left out keeps the pack's cap
            if cap is None:
                continue
            if cap.limit > limit or cap.days < days or cap.limit * days > limit * cap.days:
                found.append(
                    Violation(
                        rule,
                        f"frequency_caps.{channel.value}",
                        f"{cap.limit} in {cap.days} days allows more than {limit} in {days} days",
                    )
                )
    if variant.contact_window is not None:
        start, end = variant.contact_window
        least, most = pack.contact_window
        if not (least <= start < end <= most):
            found.append(
                Violation(
                    pack.contact_window_rule,
                    "contact_window",
                    f"{start:02d}:00-{end:02d}:00 is outside {least:02d}:00-{most:02d}:00",
                )
            )
    if variant.call_pause_days is not None and pack.call_after_conversation is not None:
        days, rule = pack.call_after_conversation
        if variant.call_pause_days < days:
            found.append(
                Violation(
                    rule,
                    "call_pause_days",
                    f"{variant.call_pause_days} days after a conversation: the law asks {days}",
                )
            )
    return found


def apply(pack: Pack, variant: Variant) -> Pack:
    """The pack as the variant works it; refuses (VariantRefused) a variant that weakens the law."""
    found = violations(pack, variant)
    if found:
        raise VariantRefused(variant, found)
    changes: dict[str, Any] = {"cadence": cadence(pack, variant)}
    if variant.letter_day is not None:
        field = LETTER_DAY_FIELD[pack.name]
        current: Mapping[Segment, int] = getattr(pack, field) or {}
        changes[field] = {**current, **variant.letter_day}
    if variant.notice_days is not None:
        changes[NOTICE_DAYS_FIELD[pack.name]] = variant.notice_days
    if variant.frequency_caps is not None:
        changes["frequency_caps"] = {
            channel: (
                (variant.frequency_caps[channel].limit, variant.frequency_caps[channel].days, rule)
                if channel in variant.frequency_caps
                else (limit, days, rule)
            )
            for channel, (limit, days, rule) in pack.frequency_caps.items()
        } | {
            channel: (cap.limit, cap.days, STRATEGY_RULE)
            for channel, cap in variant.frequency_caps.items()
            if channel not in pack.frequency_caps
        }
    if variant.contact_window is not None:
        changes["contact_window"] = variant.contact_window
    if variant.call_pause_days is not None and pack.call_after_conversation is not None:
        changes["call_after_conversation"] = (variant.call_pause_days, pack.call_after_conversation[1])
    if variant.reminder_fee is not None:
        changes["variant_reminder_fee"] = variant.reminder_fee.quantize(CENT)  # 30 kr: 30.00
    return dataclasses.replace(pack, **changes)


def own_reminder_fee(pack: Pack) -> tuple[Decimal, Rule] | None:
    """The reminder fee the pack's law allows where agreed, whatever a variant applied to it charges."""
    if pack.variant_reminder_fee is not None:
        pack = dataclasses.replace(pack, variant_reminder_fee=None)
    return pack.reminder_fee(agreed=True)


# ---------------------------------------------------------------- fifty shades of red
SHADES = 50
ROLL_LIKELY = 0.6
CURE_LIKELY = 0.6
DEADLINE_NEAR_DAYS = 14


def scored_segment(pack_segment: Segment, *, p_cure: float, p_roll: float) -> Segment:
    """The segment within the pack's rules: a case the pack puts on the strict track stays there;
    one the score sees rolling joins it; one likely to cure on its own gets nudges."""
    if pack_segment is Segment.BAD or p_roll >= ROLL_LIKELY:
        return Segment.BAD
    if p_cure >= CURE_LIKELY:
        return Segment.FORGETFUL
    return pack_segment


def days_to_legal_step(pack: Pack, days_past_due: int) -> int | None:
    """Days until the pack's rules let the next legal step begin (US: more than 120 days
    delinquent); None where a letter's own period decides it."""
    day = pack.enforcement_day()
    if day >= 10**5 or days_past_due >= day:
        return None
    return day - days_past_due


def shade(*, p_cure: float, p_roll: float, days_past_due: int, deadline_days: int | None) -> int:
    """1 (work first) to 50: likely to roll, unlikely to cure, far behind, a legal step near."""
    near = 0.0 if deadline_days is None else max(0.0, 1 - deadline_days / (4 * DEADLINE_NEAR_DAYS))
    urgency = 0.45 * p_roll + 0.25 * (1 - p_cure) + 0.15 * min(days_past_due / 120, 1.0) + 0.15 * near
    return max(1, min(SHADES, SHADES - int(urgency * SHADES)))


def shade_reason(*, p_cure: float, p_roll: float, days_past_due: int, deadline_days: int | None) -> str:
    """Why a case has its shade, in the words of the queue."""
    parts = [f"roll {p_roll:.0%}", f"cure {p_cure:.0%}", f"{days_past_due} days past due"]
    if deadline_days is not None:
        parts.append(f"legal step possible in {deadline_days} days")
    return ", ".join(parts)
