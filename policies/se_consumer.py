"""Swedish consumer credit: inkassolagen (1974:182), lag (1981:739) om ersättning för inkassokostnader
m.m. (the fees since 16 March 2013, when förordning (1981:1057) was repealed), Kronofogden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from models.enums import Channel, PolicyPack, Segment
from policies.base import Pack, Reminder, Rule, Step, StepKind

P = "se_consumer"
# The fees since 16 March 2013; förordning (1981:1057) was repealed that day.
FEES_LAW = "Lag (1981:739) om ersättning för inkassokostnader m.m. 4 §"
R = {
    "opening": Rule(f"{P}.case.opening", "Inkassolag (1974:182) 4 §"),
    "reminder": Rule(f"{P}.reminders.cadence", "Inkassolag (1974:182) 4 § (god inkassosed)"),
    "inkassokrav": Rule(f"{P}.inkasso.inkassokrav", "Inkassolag (1974:182) 5 §"),
    "reminder_fee": Rule(f"{P}.fees.reminder", f"{FEES_LAW}: 60 kr, where agreed when the debt arose"),
    "inkasso_fee": Rule(f"{P}.fees.inkassokrav", f"{FEES_LAW}: 180 kr"),
    "plan_fee": Rule(f"{P}.fees.payment_plan", f"{FEES_LAW}: 170 kr"),
    "order": Rule(f"{P}.kronofogden.betalningsforelaggande", "Lag (1990:746) om betalningsföreläggande"),
    "order_fee": Rule(f"{P}.fees.betalningsforelaggande", "Förordning (1992:1094) 7 §: 300 kr"),
    "attachment": Rule(f"{P}.kronofogden.utmatning", "Utsökningsbalken 4 kap. 1-3 §§, 7 kap."),
    "ccd2": Rule(f"{P}.ccd2.forbearance_before_enforcement", "Directive (EU) 2023/2225 Art. 35(1)"),
    "forbearance": Rule(f"{P}.forbearance.plan", "Directive (EU) 2023/2225 Art. 35(1)"),
    "loss_mitigation": Rule(f"{P}.forbearance.request", "Directive (EU) 2023/2225 Art. 35(1)"),
    "stay": Rule(f"{P}.insolvency.skuldsanering_stay", "Skuldsaneringslag (2016:675) 22 §"),
    "claim": Rule(f"{P}.insolvency.claim_filing", "Skuldsaneringslag (2016:675) 28 §"),
    "promise": Rule(f"{P}.promise_to_pay", "servicing policy"),
    "default": Rule(
        f"{P}.eba.default",
        "CRR Art. 178(1)(b), (2)(d); Reg. (EU) 2018/171; FI retail threshold SEK 1,000",
    ),
    "window": Rule(f"{P}.contact.window", "servicing policy: 08:00-21:00 local time"),
    "sms_cap": Rule(f"{P}.contact.sms_frequency", "servicing policy: 3 text messages in 7 days"),
    "email_cap": Rule(f"{P}.contact.email_frequency", "servicing policy: 5 e-mails in 7 days"),
    "charge_off": Rule(
        f"{P}.charge_off",
        "CRR Art. 178; IFRS 9 5.4.4, B5.4.9 (write-off); servicing policy: 180 days past due in default",
    ),
}

REMINDER_FEE = Decimal("60.00")
INKASSOKRAV_FEE = Decimal("180.00")
PLAN_FEE = Decimal("170.00")
ORDER_FEE = Decimal("300.00")
ATTACHMENT_ORDER = "bank funds; wages above the protected amount; other property; the home last"


@dataclass(frozen=True)
class SeConsumer(Pack):
    demand_day: dict[Segment, int] | None = None
    payment_period_days: int = 8  # IMY: at least eight days is a reasonable period
    attachment_after_days: int = 30

    def enforcement_day(self) -> int:
        # The written demand must precede any legal step, so every case starts early.
        return 10**6

    def early_letters(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        days = (self.demand_day or {}).get(segment, 20)
        sent = taken.get("inkasso.inkassokrav") or max(today, delinquent_since + timedelta(days=days))
        last_day = sent + timedelta(days=self.payment_period_days)
        return [
            Step(
                key="inkasso.inkassokrav",
                day=sent,
                kind=StepKind.MESSAGE,
                rule=R["inkassokrav"],
                channel=Channel.LETTER,
                document="inkassokrav",
                amount=INKASSOKRAV_FEE,
                detail=f"pay by {last_day.isoformat()}",
                deadline=last_day,
            ),
            Step(
                key="fees.inkassokrav",
                day=sent,
                kind=StepKind.FEE,
                rule=R["inkasso_fee"],
                amount=INKASSOKRAV_FEE,
            ),
            Step(
                key="ccd2.forbearance_assessment",
                day=last_day - timedelta(days=5),
                kind=StepKind.TASK,
                rule=R["ccd2"],
                task_kind="forbearance_assessment",
                sla_due=last_day,
                collection=False,
                detail="consider reasonable forbearance before any enforcement step",
            ),
            Step(
                key="early.advance",
                day=last_day + timedelta(days=1),
                kind=StepKind.ADVANCE,
                rule=R["inkassokrav"],
                detail="the payment period has expired",
            ),
        ]

    def enforcement_steps(self, *, start: date, arrears: Decimal) -> list[Step]:
        return [
            Step(
                key="kronofogden.betalningsforelaggande",
                day=start,
                kind=StepKind.ENFORCEMENT,
                rule=R["order"],
                document="enforcement_notice",
                channel=Channel.LETTER,
                detail="application for a payment order at Kronofogden",
            ),
            Step(
                key="fees.betalningsforelaggande",
                day=start,
                kind=StepKind.FEE,
                rule=R["order_fee"],
                amount=ORDER_FEE,
            ),
            Step(
                key="kronofogden.utmatning",
                day=start + timedelta(days=self.attachment_after_days),
                kind=StepKind.ENFORCEMENT,
                rule=R["attachment"],
                detail=f"request for attachment in order: {ATTACHMENT_ORDER}",
            ),
        ]

    def plan_fee(self) -> tuple[Decimal, Rule] | None:
        return PLAN_FEE, R["plan_fee"]

    def reminder_fee(self, *, agreed: bool) -> tuple[Decimal, Rule] | None:
        # 4 §: a written reminder may cost 60 kr only where the fee was agreed when the debt arose;
        # a strategy variant may charge less, or nothing
        fee = REMINDER_FEE if self.variant_reminder_fee is None else self.variant_reminder_fee
        return (fee, R["reminder_fee"]) if agreed and fee > 0 else None


_C = Channel
SE_CONSUMER = SeConsumer(
    name=PolicyPack.SE_CONSUMER,
    country="SE",
    currency="SEK",
    languages=("sv", "en"),
    default_timezone="Europe/Stockholm",
    case_opening=R["opening"],
    reminder_rule=R["reminder"],
    cadence={
        Segment.GOOD: (Reminder(5, _C.EMAIL, "reminder"), Reminder(12, _C.SMS, "reminder")),
        Segment.FORGETFUL: (
            Reminder(3, _C.SMS, "reminder_direct_debit"),
            Reminder(8, _C.EMAIL, "reminder_direct_debit"),
        ),
        Segment.BAD: (Reminder(3, _C.LETTER, "reminder"),),
    },
    demand_day={Segment.GOOD: 20, Segment.FORGETFUL: 20, Segment.BAD: 10},
    contact_window_rule=R["window"],
    frequency_caps={_C.SMS: (3, 7, R["sms_cap"]), _C.EMAIL: (5, 7, R["email_cap"])},
    promise_rule=R["promise"],
    ack_rule=R["loss_mitigation"],
    evaluation_rule=R["loss_mitigation"],
    appeal_rule=R["loss_mitigation"],
    acceptance_rule=R["loss_mitigation"],
    default_materiality=(Decimal("1000"), Decimal("0.01")),
    default_rule=R["default"],
    forbearance_rule=R["forbearance"],
    stay_rule=R["stay"],
    charge_off_rule=R["charge_off"],
    proof_of_claim_days=30,
    proof_of_claim_rule=R["claim"],
)
