"""Dutch consumer credit: Wet incassokosten (art. 6:96 BW), CCD2 Art. 35, EBA default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from models.enums import Channel, PolicyPack, Segment
from policies.base import Pack, Reminder, Rule, Step, StepKind
from policies.calendar import next_business_day, nl_holidays

P = "nl_consumer"
R = {
    "opening": Rule(f"{P}.case.opening", "art. 6:81 BW (verzuim)"),
    "reminder": Rule(f"{P}.reminders.cadence", "Gedragscode; art. 6:96 lid 6 BW"),
    "letter": Rule(f"{P}.wik.veertiendagenbrief", "art. 6:96 lid 6 BW"),
    # The stated last day and the day enforcement starts: the 14 days run from the day after
    # receipt, and a period ending on a Saturday, Sunday or holiday runs on to the next day that
    # is none of these.
    "letter_period": Rule(
        f"{P}.wik.veertiendagenbrief.period",
        "art. 6:96 lid 6 BW; Hoge Raad ECLI:NL:HR:2016:2704; Algemene termijnenwet art. 1 en 3",
    ),
    "costs": Rule(
        f"{P}.wik.collection_costs", "Besluit vergoeding voor buitengerechtelijke incassokosten, art. 2"
    ),
    "handoff": Rule(f"{P}.enforcement.legal_collection", "art. 6:96 lid 6 BW; Rv art. 430"),
    "ccd2": Rule(f"{P}.ccd2.forbearance_before_enforcement", "Directive (EU) 2023/2225 Art. 35(1)"),
    "forbearance": Rule(f"{P}.forbearance.plan", "Directive (EU) 2023/2225 Art. 35(1)"),
    "loss_mitigation": Rule(f"{P}.forbearance.request", "Directive (EU) 2023/2225 Art. 35(1)"),
    "stay": Rule(f"{P}.insolvency.wsnp_stay", "Faillissementswet art. 299"),
    "claim": Rule(f"{P}.insolvency.claim_filing", "Faillissementswet art. 328"),
    "promise": Rule(f"{P}.promise_to_pay", "servicing policy"),
    "default": Rule(
        f"{P}.eba.default", "CRR Art. 178(1)(b), (2)(d); Delegated Regulation (EU) 2018/171 Art. 1(2)"
    ),
    "window": Rule(f"{P}.contact.window", "servicing policy: 08:00-21:00 local time"),
    "sms_cap": Rule(f"{P}.contact.sms_frequency", "servicing policy: 3 text messages in 7 days"),
    "email_cap": Rule(f"{P}.contact.email_frequency", "servicing policy: 5 e-mails in 7 days"),
    "charge_off": Rule(
        f"{P}.charge_off",
        "CRR Art. 178; IFRS 9 5.4.4, B5.4.9 (write-off); servicing policy: 180 days past due in default",
    ),
}

# (upper bound of the band, rate) for the WIK scale; the minimum is €40 and the maximum €6,775.
_WIK_BANDS = (
    (Decimal("2500"), Decimal("0.15")),
    (Decimal("5000"), Decimal("0.10")),
    (Decimal("10000"), Decimal("0.05")),
    (Decimal("200000"), Decimal("0.01")),
    (None, Decimal("0.005")),
)


def wik_costs(principal_due: Decimal) -> Decimal:
    """Extrajudicial collection costs on the sum due (Besluit BIK art. 2), excl. VAT, in euros."""
    total, lower = Decimal("0"), Decimal("0")
    for upper, rate in _WIK_BANDS:
        if principal_due <= lower:
            break
        top = principal_due if upper is None else min(principal_due, upper)
        total += (top - lower) * rate
        if upper is None:
            break
        lower = upper
    total = max(total, Decimal("40"))
    return min(total, Decimal("6775")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NlConsumer(Pack):
    letter_day: dict[Segment, int] | None = None
    postal_days: int = 2  # a posted letter counts as received on the second delivery day after posting
    letter_period_days: int = 14
    # 1: the last day was posting + 2 + 14 calendar days (cases planned before receipt followed
    # the post's delivery days keep it); 2: receipt on a delivery day, the end moved off weekends
    # and holidays.
    letter_rules: int = 2

    def enforcement_day(self) -> int:
        # The free 14-day letter must always precede costs and legal steps, so a case opened
        # at any days past due starts early, with the letter sent at once.
        return 10**6

    def delivery_day(self, day: date) -> bool:
        """The post delivers letters Tuesday to Saturday, and not on a public holiday."""
        return day.weekday() not in (0, 6) and day not in nl_holidays(day.year)

    def receipt(self, sent: date, channel: Channel = Channel.LETTER) -> date:
        """The day a message counts as received: an e-mail the day it was sent, a letter on the
        `postal_days`-th delivery day after posting."""
        if channel is not Channel.LETTER:
            return sent
        day, left = sent, self.postal_days
        while left > 0:
            day += timedelta(days=1)
            if self.delivery_day(day):
                left -= 1
        return day

    def letter_deadline(self, posted: date, channel: Channel = Channel.LETTER) -> date:
        """The last day of the 14-day period, counted from the day after receipt (Hoge Raad
        ECLI:NL:HR:2016:2704); a period ending on a Saturday, Sunday or holiday runs on to the
        next business day (Algemene termijnenwet art. 1)."""
        if self.letter_rules < 2:
            return posted + timedelta(days=self.postal_days + self.letter_period_days)
        last = self.receipt(posted, channel) + timedelta(days=self.letter_period_days)
        return next_business_day(last, self.country)

    def early_letters(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        days = (self.letter_day or {}).get(segment, 21)
        posted = taken.get("wik.veertiendagenbrief") or max(today, delinquent_since + timedelta(days=days))
        deadline = self.letter_deadline(posted)
        costs = wik_costs(arrears)
        return [
            Step(
                key="wik.veertiendagenbrief",
                day=posted,
                kind=StepKind.MESSAGE,
                rule=R["letter"],
                channel=Channel.LETTER,
                document="veertiendagenbrief",
                amount=costs,
                detail=f"pay by {deadline.isoformat()}; afterwards collection costs of EUR {costs}",
                deadline=deadline,
            ),
            Step(
                key="ccd2.forbearance_assessment",
                # eleven days after posting, as always: five days or more before the last day,
                # which the post's delivery days and the Atw may put later
                day=posted + timedelta(days=self.postal_days + self.letter_period_days - 5),
                kind=StepKind.TASK,
                rule=R["ccd2"],
                task_kind="forbearance_assessment",
                sla_due=deadline,
                collection=False,
                detail="consider reasonable forbearance before any enforcement step",
            ),
            Step(
                key="early.advance",
                day=deadline + timedelta(days=1),
                kind=StepKind.ADVANCE,
                rule=R["letter"] if self.letter_rules < 2 else R["letter_period"],
                detail="the 14-day period has expired",
            ),
        ]

    def enforcement_steps(self, *, start: date, arrears: Decimal) -> list[Step]:
        costs = wik_costs(arrears)
        return [
            Step(
                key="wik.collection_costs",
                day=start,
                kind=StepKind.FEE,
                rule=R["costs"],
                amount=costs,
                detail="collection costs per the WIK scale",
            ),
            Step(
                key="enforcement.legal_collection",
                day=start,
                kind=StepKind.ENFORCEMENT,
                rule=R["handoff"],
                channel=Channel.LETTER,
                document="enforcement_notice",
                amount=arrears + costs,
                detail="handed to legal collection with the costs",
            ),
        ]


_C = Channel
NL_CONSUMER = NlConsumer(
    name=PolicyPack.NL_CONSUMER,
    country="NL",
    currency="EUR",
    languages=("nl", "en"),
    default_timezone="Europe/Amsterdam",
    case_opening=R["opening"],
    reminder_rule=R["reminder"],
    cadence={
        Segment.GOOD: (Reminder(7, _C.EMAIL, "reminder"), Reminder(14, _C.SMS, "reminder")),
        Segment.FORGETFUL: (
            Reminder(3, _C.SMS, "reminder_direct_debit"),
            Reminder(10, _C.EMAIL, "reminder_direct_debit"),
        ),
        Segment.BAD: (Reminder(3, _C.LETTER, "reminder"), Reminder(7, _C.SMS, "reminder")),
    },
    letter_day={Segment.GOOD: 21, Segment.FORGETFUL: 21, Segment.BAD: 10},
    contact_window_rule=R["window"],
    frequency_caps={_C.SMS: (3, 7, R["sms_cap"]), _C.EMAIL: (5, 7, R["email_cap"])},
    promise_rule=R["promise"],
    ack_rule=R["loss_mitigation"],
    evaluation_rule=R["loss_mitigation"],
    appeal_rule=R["loss_mitigation"],
    acceptance_rule=R["loss_mitigation"],
    default_materiality=(Decimal("100"), Decimal("0.01")),
    default_rule=R["default"],
    forbearance_rule=R["forbearance"],
    stay_rule=R["stay"],
    charge_off_rule=R["charge_off"],
    proof_of_claim_days=30,
    proof_of_claim_rule=R["claim"],
)
