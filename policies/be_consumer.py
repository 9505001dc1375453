"""Belgian consumer debts: Code of Economic Law (Wetboek van economisch recht, WER / Code de droit
économique, CDE), Book VII for consumer credit agreements and Book XIX for other consumer debts.

Which book applies follows the loan's product (`book_for`): a product that names a credit
agreement (`consumer_credit`, `personal_loan`, `car_loan`, `revolving_credit`, `credit_card`, and
any `*_loan` or `*_credit`) is a consumer credit agreement under Book VII, whose default rules
(art. VII.105, VII.106) are the special law; anything else (an invoice, a subscription, a service)
is a consumer debt under Book XIX, title 1 (art. XIX.2-XIX.4). An unknown product falls under
Book XIX, whose free reminder and 14 days come before any cost.

Book VII (consumer credit)
- art. VII.105, 1°: the whole debt may be called (verval van de termijnbepaling / déchéance du
  terme) only when the consumer is in default of at least two instalments ("deux montants d'un
  terme") or of a sum equal to 20 % of the total amount due by the consumer, and has not paid one
  month after a registered letter of formal notice (ingebrekestelling / mise en demeure) that
  recalls these terms. The loan records carry the instalment but not the total amount due (the
  amount of credit plus the total cost of credit, art. I.9, 45°/VII.2): without it only the
  two-instalment test is applied, which can never allow an acceleration the law forbids. The
  registered notice itself goes out only once that default is reached, checked again on the day
  it is sent (a payment since it was planned may have taken the default below it); without a
  known instalment the default cannot be shown and no notice is planned.
  The default is counted on the due schedule: the arrears reported at opening, less the payments
  since, plus one instalment for each monthly due date passed since the opening.
- The month: counted from the day after the letter was sent, from date to date (de quantième à
  quantième), and a last day that is a Saturday, Sunday or legal holiday moves to the next working
  day (Civil Code / Burgerlijk Wetboek, book 1, art. 1.7, in force 1 January 2023). The registered
  letter is sent on the letter day; the acceleration comes the day after the last day.
- art. VII.106 § 1: after acceleration only the outstanding balance, the due and unpaid total cost
  of credit, the agreed default interest on the balance, and agreed penalties limited to 10 % of
  the balance up to EUR 7,500 and 5 % of the balance above it may be claimed (`vii106_penalty_cap`,
  on the loan's outstanding balance as the loan system reports it; the arrears only where the
  balance is unknown, which states a lower cap, never a higher one).
  The default interest may not exceed the last agreed borrowing rate plus a coefficient of at most
  10 % (art. VII.106 § 5, read as a factor of 1.10 on the rate: `vii106_default_rate_cap`).
  § 2: before acceleration, reminder and formal-notice costs are at most EUR 7.50 plus postage, one
  letter a month; this pack charges none.
- A default below the threshold when the month is over does not accelerate: the creditor may only
  claim the instalments due (art. VII.106 § 2), which is the enforcement step then.

Book XIX (other consumer debts; law of 4 May 2023, Belgian Official Gazette 23 May 2023, in force
1 September 2023, and from 1 December 2023 for contracts concluded before; not 1 September 2022)
- art. XIX.2 § 1: no damages, interest or costs before a first reminder, which is free, and a period
  of at least 14 calendar days that starts on the third working day after the day the reminder was
  sent, or, for a reminder sent electronically, on the working day after the day it was sent
  (runs planned before this reading counted from the calendar day after). Working days are
  Monday to Friday except legal holidays (the reading most favourable to the consumer: a
  Saturday never shortens the period).
  The 14th day that is a Saturday, Sunday or legal holiday moves to the next working day (art. 1.7
  Civil Code). Worked example from the commentary: a reminder sent Monday 18 September 2023 starts
  the period on Thursday 21 September; the damages may be claimed from Thursday 5 October 2023.
- art. XIX.4 § 2: a lump-sum damages clause is capped by the balance due: EUR 20 up to EUR 150;
  EUR 30 plus 10 % of the part between EUR 150.01 and 500; EUR 65 plus 5 % of the part above
  EUR 500, at most EUR 2,000 (`xix4_damages_cap`). Interest is capped at the reference rate plus
  8 points of the law of 2 August 2002, art. 5 (not charged by this pack).

Sources relied on: the text of art. VII.105 and VII.106 § 1-2 as reproduced article by article
on credit2consumer.be (FR); art. XIX.2 and XIX.4 as quoted by the Belgian bar and firm notes on
the law of 4 May 2023 (elegis.be, sybarius.net, forumforthefuture.be, ebl-redsky.com) and the
Dutch scale in published general terms citing Book XIX; art. 1.7 of the Civil Code as summarised
by solutio.law. The wording of art. VII.106 § 5 was not found in a primary text and follows the
commentary's "taux débiteur majoré d'un coefficient de 10 %".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from models.enums import Channel, PolicyPack, Segment
from policies.base import Pack, Reminder, Rule, Step, StepKind
from policies.calendar import add_business_days, add_months, next_business_day

P = "be_consumer"
CC = "art. 1.7 BW/C. civ. (boek 1)"
R = {
    "opening": Rule(f"{P}.case.opening", "art. 5.231 BW (ingebrekestelling); art. XIX.2 § 1 WER"),
    "reminder": Rule(f"{P}.reminders.cadence", "art. XIX.2 § 1 WER (free reminders); servicing policy"),
    # Book VII
    "notice": Rule(f"{P}.vii105.formal_notice", "art. VII.105, 1° WER/CDE (aangetekende ingebrekestelling)"),
    "notice_period": Rule(f"{P}.vii105.one_month", f"art. VII.105, 1° WER/CDE; {CC}"),
    "acceleration": Rule(f"{P}.vii105.acceleration", "art. VII.105, 1° WER/CDE; art. VII.106 § 1 WER/CDE"),
    "penalty": Rule(f"{P}.vii106.penalty", "art. VII.106 § 1 WER/CDE: 10 % up to EUR 7,500, 5 % above"),
    "arrears_claim": Rule(
        f"{P}.vii106.claim_instalments_due",
        "art. VII.105, 1° WER/CDE (threshold not met: no acceleration); art. VII.106 § 2 WER/CDE",
    ),
    # Book XIX
    "first_reminder": Rule(
        f"{P}.xix2.first_reminder", "art. XIX.2 § 1 WER/CDE (kosteloze eerste herinnering)"
    ),
    "period": Rule(f"{P}.xix2.fourteen_days", f"art. XIX.2 § 1 WER/CDE; {CC}"),
    "damages": Rule(f"{P}.xix4.damages", "art. XIX.4 § 2 WER/CDE (forfaitair schadebeding)"),
    "collection": Rule(
        f"{P}.enforcement.legal_collection", "art. XIX.5-XIX.8 WER/CDE; Ger.W./C. jud. art. 1338"
    ),
    "ccd2": Rule(f"{P}.ccd2.forbearance_before_enforcement", "Directive (EU) 2023/2225 Art. 35(1)"),
    "forbearance": Rule(f"{P}.forbearance.plan", "Directive (EU) 2023/2225 Art. 35(1); art. VII.107 WER"),
    "loss_mitigation": Rule(f"{P}.forbearance.request", "Directive (EU) 2023/2225 Art. 35(1)"),
    "stay": Rule(f"{P}.insolvency.collective_debt_settlement", "Ger.W./C. jud. art. 1675/7 § 1"),
    "claim": Rule(f"{P}.insolvency.claim_filing", "Ger.W./C. jud. art. 1675/9 § 2"),
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


class Book(StrEnum):
    VII = "VII"  # consumer credit agreements
    XIX = "XIX"  # other consumer debts


_CREDIT_PRODUCTS = frozenset(
    {"consumer_credit", "personal_loan", "car_loan", "revolving_credit", "credit_card"}
)


def book_for(product: str | None) -> Book:
    """Book VII for a product that names a consumer credit agreement, Book XIX for anything else."""
    name = (product or "").strip().lower()
    if name in _CREDIT_PRODUCTS or name.endswith(("_loan", "_credit")):
        return Book.VII
    return Book.XIX


_CENT = Decimal("0.01")
_NO_NOTICE = timedelta(days=3650)  # an early stage with no notice it may send: staff decide


def xix4_damages_cap(balance: Decimal) -> Decimal:
    """The highest lump-sum damages on a consumer debt's balance (art. XIX.4 § 2 WER), in euros."""
    if balance <= 0:
        return Decimal("0.00")
    if balance <= Decimal("150"):
        cap = Decimal("20")
    elif balance <= Decimal("500"):
        cap = Decimal("30") + (balance - Decimal("150")) * Decimal("0.10")
    else:
        cap = min(Decimal("65") + (balance - Decimal("500")) * Decimal("0.05"), Decimal("2000"))
    return cap.quantize(_CENT, rounding=ROUND_HALF_UP)


def vii106_penalty_cap(balance: Decimal) -> Decimal:
    """The highest agreed penalty on acceleration: 10 % of the balance up to EUR 7,500 and 5 % of
    the balance above it (art. VII.106 § 1 WER)."""
    if balance <= 0:
        return Decimal("0.00")
    first = min(balance, Decimal("7500"))
    cap = first * Decimal("0.10") + max(balance - Decimal("7500"), Decimal("0")) * Decimal("0.05")
    return cap.quantize(_CENT, rounding=ROUND_HALF_UP)


def vii106_default_rate_cap(borrowing_rate: Decimal) -> Decimal:
    """The highest default interest rate: the last agreed borrowing rate plus a coefficient of at
    most 10 % of it (art. VII.106 § 5 WER), e.g. 8 % gives 8.8 %."""
    return (max(borrowing_rate, Decimal("0")) * Decimal("1.10")).quantize(Decimal("0.0001"))


def acceleration_allowed(
    *, in_default: Decimal, installment: Decimal | None, total_due: Decimal | None = None
) -> bool:
    """Art. VII.105, 1°: a default of at least two instalments, or of 20 % of the total amount due."""
    if installment is not None and installment > 0 and in_default >= 2 * installment:
        return True
    return total_due is not None and total_due > 0 and in_default >= total_due * Decimal("0.20")


def xix2_period_start(sent: date, channel: Channel, *, electronic_working_day: bool = True) -> date:
    """The first of the 14 days: the third working day after a posted reminder, the working day
    after an electronic one (art. XIX.2 § 1 WER). `electronic_working_day=False`: the calendar
    day after, as runs counted it before (a Friday e-mail then started the period on Saturday)."""
    if channel in (Channel.EMAIL, Channel.SMS):
        if electronic_working_day:
            return add_business_days(sent, 1, "BE")
        return sent + timedelta(days=1)
    return add_business_days(sent, 3, "BE")


def xix2_last_day(
    sent: date, channel: Channel, days: int = 14, *, electronic_working_day: bool = True
) -> date:
    """The last of the 14 calendar days, moved off a Saturday, Sunday or legal holiday (art. 1.7
    Civil Code); the damages may be claimed from the day after."""
    start = xix2_period_start(sent, channel, electronic_working_day=electronic_working_day)
    return next_business_day(start + timedelta(days=days - 1), "BE")


def vii105_last_day(sent: date) -> date:
    """The last day of the month after the registered letter: from date to date, moved off a
    Saturday, Sunday or legal holiday (art. 1.7 Civil Code); acceleration from the day after."""
    return next_business_day(add_months(sent, 1), "BE")


@dataclass(frozen=True)
class BeConsumer(Pack):
    book: Book = Book.XIX
    installment: Decimal | None = None
    opened_on: date | None = None  # the day the case opened (its report's as-of day)
    first_due: date | None = None  # the oldest unpaid instalment's due date then
    letter_day: dict[Segment, int] | None = None
    # the first reminder's channel (Book XIX); a posted reminder for every segment by default
    first_reminder_channel: dict[Segment, Channel] | None = None
    balance: Decimal | None = None  # the loan's outstanding balance (the VII.106 penalty's base)
    # Runs planned before these were read from the text (see the module's notes) keep False: the
    # penalty cap on the arrears, the notice on its letter day, an e-mail's period from the next day.
    by_the_text: bool = False

    def read_by_the_text(self, *, balance: Decimal | None) -> BeConsumer:
        """The pack as the text reads: VII.106's cap on the balance, VII.105's notice only at the
        threshold, XIX.2's period from the working day after an e-mail."""
        return replace(self, balance=balance, by_the_text=True)

    def for_loan(
        self, *, product: str | None, installment: Decimal | None, opened_on: date, days_past_due: int
    ) -> Pack:
        return replace(
            self,
            book=book_for(product),
            installment=installment,
            opened_on=opened_on,
            first_due=opened_on - timedelta(days=days_past_due),
        )

    def enforcement_day(self) -> int:
        # The free reminder (XIX.2) or the registered notice (VII.105) always comes first.
        return 10**6

    def _due_dates_after_opening(self, until: date) -> list[date]:
        """The monthly due dates after the opening, up to `until`."""
        if self.opened_on is None or self.first_due is None:
            return []
        dates, months = [], 1
        while (due := add_months(self.first_due, months)) <= until:
            if due > self.opened_on:
                dates.append(due)
            months += 1
        return dates

    def in_default(self, *, arrears: Decimal, on: date) -> Decimal:
        """What is past due on `on`: the case's arrears (those reported at opening, less the
        payments since) plus each instalment fallen due after the opening."""
        if not self.installment or self.installment <= 0:
            return arrears
        return arrears + self.installment * len(self._due_dates_after_opening(on))

    def formal_notice_allowed(self, *, arrears: Decimal, on: date) -> bool:
        """Art. VII.105, 1°: may the registered formal notice go out on `on`? Only once the default
        reaches two instalments (or 20 % of the total due); checked again on the day it is sent."""
        if self.book is not Book.VII or not self.by_the_text:
            return True
        return acceleration_allowed(
            in_default=self.in_default(arrears=arrears, on=on), installment=self.installment
        )

    def still_allowed(self, step: Step, *, arrears: Decimal, on: date) -> bool:
        return step.key != "vii105.formal_notice" or self.formal_notice_allowed(arrears=arrears, on=on)

    def _threshold_day(self, day: date, arrears: Decimal) -> date | None:
        """`day`, or the first due date after it on which the default reaches the threshold; None
        when no due date ahead reaches it (no instalment known: the test cannot be met)."""
        if acceleration_allowed(
            in_default=self.in_default(arrears=arrears, on=day), installment=self.installment
        ):
            return day
        if not self.installment or self.installment <= 0 or self.opened_on is None:
            return None
        # each due date adds an instalment: two of them always reach the two-instalment test
        for due in self._due_dates_after_opening(day + timedelta(days=93)):
            if due > day and acceleration_allowed(
                in_default=self.in_default(arrears=arrears, on=due), installment=self.installment
            ):
                return due
        return None

    def _notice_day(self, day: date, arrears: Decimal) -> date:
        """`day`, or the first due date after it on which the default reaches the threshold."""
        if not self.installment or self.installment <= 0:
            return day  # no schedule to wait for: the month's end decides (see `_acceleration`)
        for _ in range(3):
            if acceleration_allowed(
                in_default=self.in_default(arrears=arrears, on=day), installment=self.installment
            ):
                return day
            ahead = [d for d in self._due_dates_after_opening(day + timedelta(days=31)) if d > day]
            if not ahead:
                return day
            day = ahead[0]
        return day

    def _letter_day(self, segment: Segment, delinquent_since: date, today: date) -> date:
        return max(today, delinquent_since + timedelta(days=(self.letter_day or {}).get(segment, 21)))

    def early_letters(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        if self.book is Book.VII:
            return self._formal_notice(segment, delinquent_since, arrears, today, taken)
        sent = taken.get("xix2.first_reminder") or self._letter_day(segment, delinquent_since, today)
        channel = (self.first_reminder_channel or {}).get(segment, Channel.LETTER)
        last = xix2_last_day(sent, channel, electronic_working_day=self.by_the_text)
        damages = xix4_damages_cap(arrears)
        return [
            Step(
                key="xix2.first_reminder",
                day=sent,
                kind=StepKind.MESSAGE,
                rule=R["first_reminder"],
                channel=channel,
                document="eerste_herinnering",
                amount=damages,
                detail=f"free first reminder: pay by {last.isoformat()}; afterwards damages of EUR {damages}",
                deadline=last,
                facts={
                    "period_starts": xix2_period_start(
                        sent, channel, electronic_working_day=self.by_the_text
                    ).isoformat()
                },
            ),
            Step(
                key="early.advance",
                day=last + timedelta(days=1),
                kind=StepKind.ADVANCE,
                rule=R["period"],
                detail="the 14 days after the first reminder have expired",
            ),
        ]

    def _formal_notice(
        self,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        sent = taken.get("vii105.formal_notice")
        if sent is None and self.by_the_text:
            sent = self._threshold_day(self._letter_day(segment, delinquent_since, today), arrears)
            if sent is None:  # no instalment known: the threshold cannot be shown, no notice
                return [
                    Step(
                        key="early.advance",
                        day=today + _NO_NOTICE,
                        kind=StepKind.ADVANCE,
                        rule=R["notice"],
                        detail="no registered notice: the default cannot be shown to reach two instalments",
                    )
                ]
        elif sent is None:
            sent = self._notice_day(self._letter_day(segment, delinquent_since, today), arrears)
        last = vii105_last_day(sent)
        penalty = vii106_penalty_cap((self.balance or Decimal("0")) if self.by_the_text else arrears)
        return [
            Step(
                key="vii105.formal_notice",
                day=sent,
                kind=StepKind.MESSAGE,
                rule=R["notice"],
                channel=Channel.LETTER,
                document="ingebrekestelling",
                amount=penalty,
                detail=f"registered letter: pay by {last.isoformat()} or the whole debt falls due",
                deadline=last,
                facts={"registered": "yes"},
            ),
            Step(
                key="ccd2.forbearance_assessment",
                day=last - timedelta(days=7),
                kind=StepKind.TASK,
                rule=R["ccd2"],
                task_kind="forbearance_assessment",
                sla_due=last,
                collection=False,
                detail="consider reasonable forbearance before the debt is called",
            ),
            Step(
                key="early.advance",
                day=last + timedelta(days=1),
                kind=StepKind.ADVANCE,
                rule=R["notice_period"],
                detail="one month after the registered formal notice has expired",
            ),
        ]

    def enforcement_steps(self, *, start: date, arrears: Decimal) -> list[Step]:
        if self.book is Book.XIX:
            damages = xix4_damages_cap(arrears)
            return [
                Step(
                    key="xix4.damages",
                    day=start,
                    kind=StepKind.FEE,
                    rule=R["damages"],
                    amount=damages,
                    detail="lump-sum damages on the XIX.4 scale",
                ),
                Step(
                    key="enforcement.legal_collection",
                    day=start,
                    kind=StepKind.ENFORCEMENT,
                    rule=R["collection"],
                    channel=Channel.LETTER,
                    document="enforcement_notice",
                    amount=arrears + damages,
                    detail="handed to collection with the damages",
                ),
            ]
        return self._acceleration(start, arrears)

    def _acceleration(self, start: date, arrears: Decimal) -> list[Step]:
        # The default on the day the month ran out: below the threshold, nothing may be called.
        in_default = self.in_default(arrears=arrears, on=start - timedelta(days=1))
        if not acceleration_allowed(in_default=in_default, installment=self.installment):
            return [
                Step(
                    key="vii106.claim_instalments_due",
                    day=start,
                    kind=StepKind.ENFORCEMENT,
                    rule=R["arrears_claim"],
                    channel=Channel.LETTER,
                    document="enforcement_notice",
                    amount=in_default,
                    detail="default below two instalments: only the instalments due are claimed",
                    facts={"accelerated": "no"},
                )
            ]
        return [
            Step(
                key="vii105.acceleration",
                day=start,
                kind=StepKind.ENFORCEMENT,
                rule=R["acceleration"],
                channel=Channel.LETTER,
                document="enforcement_notice",
                amount=in_default,
                detail="the whole debt falls due (verval van de termijnbepaling / déchéance du terme)",
                facts={"accelerated": "yes"},
            ),
        ]


_C = Channel
BE_CONSUMER = BeConsumer(
    name=PolicyPack.BE_CONSUMER,
    country="BE",
    currency="EUR",
    languages=("nl", "fr", "en"),
    default_timezone="Europe/Brussels",
    case_opening=R["opening"],
    reminder_rule=R["reminder"],
    cadence={
        Segment.GOOD: (Reminder(7, _C.EMAIL, "reminder"),),
        Segment.FORGETFUL: (Reminder(3, _C.SMS, "reminder_direct_debit"),),
        Segment.BAD: (Reminder(3, _C.SMS, "reminder"),),
    },
    letter_day={Segment.GOOD: 21, Segment.FORGETFUL: 21, Segment.BAD: 10},
    first_reminder_channel={Segment.GOOD: _C.EMAIL, Segment.FORGETFUL: _C.LETTER, Segment.BAD: _C.LETTER},
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
