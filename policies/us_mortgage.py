"""US mortgage servicing: Reg X (12 CFR 1024), Reg F (12 CFR 1006), 11 U.S.C. 362, SCRA."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from models.enums import CaseOutcome, Channel, PolicyPack, Segment
from policies import validation_notice
from policies.base import DebtorFacts, Pack, Reminder, Rule, StayOrderKind, StayRule, Step, StepKind

P = "us_mortgage"
R = {
    "opening": Rule(f"{P}.case.opening", "12 CFR 1024.39(a)"),
    "reminder": Rule(f"{P}.reminders.cadence", "12 CFR 1006.14; 12 CFR 1006.6(b)(1)"),
    "live_contact": Rule(f"{P}.early_intervention.live_contact", "12 CFR 1024.39(a)"),
    "written_notice": Rule(f"{P}.early_intervention.written_notice", "12 CFR 1024.39(b)"),
    "ei_bankruptcy_notice": Rule(f"{P}.early_intervention.bankruptcy_notice", "12 CFR 1024.39(c)(1)(iii)"),
    "ei_bankruptcy_exempt": Rule(
        f"{P}.early_intervention.bankruptcy_exempt", "12 CFR 1024.39(c)(1)(i), (ii)"
    ),
    "ei_cease_exempt": Rule(f"{P}.early_intervention.cease_communication", "12 CFR 1024.39(c)(1)(ii), (d)"),
    "ei_exempt_surrender": Rule(
        f"{P}.early_intervention.bankruptcy_exempt_surrender", "12 CFR 1024.39(c)(1)(i), (ii)(A), (C)"
    ),
    "ei_exempt_no_arrearage": Rule(
        f"{P}.early_intervention.bankruptcy_exempt_plan", "12 CFR 1024.39(c)(1)(i), (ii)(A)"
    ),
    "ei_exempt_lien_avoided": Rule(
        f"{P}.early_intervention.bankruptcy_exempt_lien_avoided", "12 CFR 1024.39(c)(1)(i), (ii)(A), (B)"
    ),
    "ei_exempt_order": Rule(
        f"{P}.early_intervention.bankruptcy_exempt_court_order", "12 CFR 1024.39(c)(1)(i), (ii)(B)"
    ),
    "ei_debtor": Rule(f"{P}.early_intervention.debtor_live_contact", "12 CFR 1024.39(c)(1)(i)"),
    "ei_case_end": Rule(f"{P}.early_intervention.bankruptcy_case_ended", "12 CFR 1024.39(c)(2)"),
    "ei_resumed": Rule(f"{P}.early_intervention.resumed", "12 CFR 1024.39(c)(2)"),
    "ack": Rule(f"{P}.loss_mitigation.acknowledgment", "12 CFR 1024.41(b)(2)(i)(B)"),
    "evaluation": Rule(f"{P}.loss_mitigation.evaluation", "12 CFR 1024.41(c)(1)"),
    "appeal": Rule(f"{P}.loss_mitigation.appeal", "12 CFR 1024.41(h)"),
    "acceptance": Rule(f"{P}.loss_mitigation.offer_acceptance", "12 CFR 1024.41(e)"),
    "late_application": Rule(f"{P}.loss_mitigation.late_application", "12 CFR 1024.41(c)(1), (g)"),
    "first_filing_120": Rule(f"{P}.loss_mitigation.120_day_rule", "12 CFR 1024.41(f)(1)"),
    "dual_tracking": Rule(f"{P}.loss_mitigation.dual_tracking", "12 CFR 1024.41(f)(2), (g)"),
    "scra": Rule(f"{P}.scra.foreclosure_protection", "50 U.S.C. 3953(c)"),
    "scra_check": Rule(f"{P}.scra.status_check", "50 U.S.C. 3931; 50 U.S.C. 3953"),
    "referral": Rule(f"{P}.foreclosure.attorney_referral", "12 CFR 1024.41(f)(1)"),
    "first_filing": Rule(f"{P}.foreclosure.first_filing", "12 CFR 1024.41(f)(1)"),
    "sale_scheduled": Rule(f"{P}.foreclosure.sale_scheduled", "12 CFR 1024.41(g)"),
    "sale_held": Rule(f"{P}.foreclosure.sale_held", "12 CFR 1024.41(g)"),
    "stay": Rule(f"{P}.bankruptcy.automatic_stay", "11 U.S.C. 362(a)"),
    "stay_30": Rule(f"{P}.bankruptcy.repeat_filer_30_day", "11 U.S.C. 362(c)(3)(A)"),
    "no_stay": Rule(f"{P}.bankruptcy.repeat_filer_no_stay", "11 U.S.C. 362(c)(4)(A)"),
    "stay_extended": Rule(f"{P}.bankruptcy.stay_extended", "11 U.S.C. 362(c)(3)(B)"),
    "stay_imposed": Rule(f"{P}.bankruptcy.stay_imposed", "11 U.S.C. 362(c)(4)(B), (C)"),
    "payment_change": Rule(f"{P}.bankruptcy.payment_change_notice", "FRBP 3002.1(b)"),
    "fee_notice": Rule(f"{P}.bankruptcy.post_petition_fee_notice", "FRBP 3002.1(c)"),
    "proof_of_claim": Rule(f"{P}.bankruptcy.proof_of_claim", "FRBP 3002(c)"),
    "forbearance": Rule(f"{P}.forbearance.plan", "12 CFR 1024.41(c)(2)(iii)"),
    "validation": Rule(f"{P}.reg_f.validation_notice", "12 CFR 1006.34(a)(1)"),
    "continuity": Rule(f"{P}.continuity_of_contact.assign_personnel", "12 CFR 1024.40(a)"),
    "rate_cap": Rule(f"{P}.scra.interest_cap", "50 U.S.C. 3937(a)"),
    "window": Rule(f"{P}.reg_f.inconvenient_time", "12 CFR 1006.6(b)(1)(i)"),
    "call_cap": Rule(f"{P}.reg_f.call_frequency", "12 CFR 1006.14(b)(2)(i)(A)"),
    "call_conversation": Rule(f"{P}.reg_f.call_after_conversation", "12 CFR 1006.14(b)(2)(i)(B)"),
    "sms_cap": Rule(f"{P}.contact.sms_frequency", "servicing policy: 3 text messages in 7 days"),
    "email_cap": Rule(f"{P}.contact.email_frequency", "servicing policy: 5 e-mails in 7 days"),
    "promise": Rule(f"{P}.promise_to_pay", "12 CFR 1006.34 (no waiver of rights); servicing policy"),
    "charge_off": Rule(
        f"{P}.charge_off",
        "FFIEC Uniform Retail Credit Classification and Account Management Policy, 65 FR 36903"
        " (2000): residential real estate at 180 days past due",
    ),
}
# 11 U.S.C. 362(c)(3): the 30-day lapse reaches a repeat filing under these chapters only
REPEAT_FILER_CHAPTERS = (7, 11, 13)


@dataclass(frozen=True)
class UsMortgage(Pack):
    written_notice_day: int = 40  # sent on day 40 so that it arrives by day 45
    notice_gap_days: int = 180
    live_contact_days: int = 36
    foreclosure_day: int = 121  # "more than 120 days delinquent"

    def enforcement_day(self) -> int:
        return self.foreclosure_day

    def early_letters(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        return [
            Step(
                key="early.advance",
                day=delinquent_since + timedelta(days=self.foreclosure_day),
                kind=StepKind.ADVANCE,
                rule=R["first_filing_120"],
                detail="early stage over: foreclosure review may begin",
            )
        ]

    def recurring_obligations(
        self,
        *,
        delinquent_since: date,
        opened_on: date,
        resume_on: date | None = None,
        due_dates: Sequence[date] | None = None,
        discharged: bool = False,
    ) -> list[Step]:
        """Reg F validation notice and personnel assignment at opening; live contact within 36
        days of each missed due date; the written early-intervention notice every 180 days.
        `resume_on`: after a bankruptcy case, only from that due date on (12 CFR 1024.39(c)(2)).

        With `due_dates` (the payment due dates from `delinquent_since` on), a live contact is
        keyed by its due date and a written notice by the delinquency's start and its number, so
        that a payment which moves the start (12 CFR 1024.31) plans again from the new start: a
        due date keeps its key, done or not, and the notices of the new start are new steps that
        keep the 180 days from the last one sent (1024.39(b)(2)). Without them, as runs planned
        before: numbered from the start, every 30 days."""
        steps: list[Step] = [
            Step(
                key="reg_f.validation_notice",
                day=opened_on,
                kind=StepKind.MESSAGE,
                rule=R["validation"],
                channel=Channel.LETTER,
                document=validation_notice.DOCUMENT,
                # an estimate: the send counts the period from the day it queues the letter, and
                # the letter and this record state that one end date
                detail=validation_notice.period_detail(
                    opened_on, validation_notice.validation_period_end(opened_on, self.country)
                ),
                deadline=validation_notice.validation_period_end(opened_on, self.country),
            ),
            Step(
                key="continuity_of_contact.assign_personnel",
                day=opened_on,
                kind=StepKind.TASK,
                rule=R["continuity"],
                task_kind="assign_personnel",
                sla_due=max(delinquent_since + timedelta(days=45), opened_on),
                collection=False,
            ),
        ]
        # two years of due dates; continue-as-new carries the rest
        dues = (
            [(d.isoformat(), d) for d in due_dates[:24]]
            if due_dates is not None
            else [(str(k), delinquent_since + timedelta(days=30 * k)) for k in range(24)]
        )
        for name, due_date in dues:
            steps.append(
                Step(
                    key=f"early_intervention.live_contact.{name}",
                    day=due_date,
                    kind=StepKind.TASK,
                    rule=R["live_contact"],
                    task_kind="live_contact",
                    sla_due=due_date + timedelta(days=self.live_contact_days),
                    channel=Channel.CALL,
                    detail=f"live contact or good-faith attempt for the due date {due_date.isoformat()}",
                )
            )
        if resume_on is not None:
            return sorted(self._resumed(steps, resume_on, discharged=discharged), key=lambda s: s.day)
        prefix = "" if due_dates is None else f"{delinquent_since.isoformat()}."
        for k in range(5):
            steps.append(
                Step(
                    key=f"early_intervention.written_notice.{prefix}{k}",
                    day=delinquent_since + timedelta(days=self.written_notice_day + self.notice_gap_days * k),
                    kind=StepKind.MESSAGE,
                    rule=R["written_notice"],
                    channel=Channel.LETTER,
                    document="early_intervention_notice",
                    series="written_notice",
                    min_gap_days=self.notice_gap_days,
                )
            )
        return sorted(steps, key=lambda s: s.day)

    def _resumed(self, steps: list[Step], resume_on: date, *, discharged: bool = False) -> list[Step]:
        """After a bankruptcy case: live contact for the due dates from `resume_on`, and the
        written notice by the 45th day after it, then every 180 days (12 CFR 1024.39(c)(2)).
        After a discharge the notice goes without a request for payment: the servicer may not
        communicate in a way bankruptcy law forbids ((c)(2); 11 U.S.C. 524(a)(2))."""
        kept = [s for s in steps if s.task_kind != "live_contact" or s.day >= resume_on]
        return kept + [
            Step(
                key=f"early_intervention.resumed.{resume_on.isoformat()}.written_notice.{k}",
                day=resume_on + timedelta(days=self.written_notice_day + self.notice_gap_days * k),
                kind=StepKind.MESSAGE,
                rule=R["ei_resumed"],
                channel=Channel.LETTER,
                document="early_intervention_notice_bankruptcy"
                if discharged
                else "early_intervention_notice",
                collection=not discharged,
                facts={"discharged": "yes"} if discharged else {},
                series=f"written_notice.{resume_on.isoformat()}",
                min_gap_days=self.notice_gap_days,
            )
            for k in range(5)
        ]

    def enforcement_steps(self, *, start: date, arrears: Decimal) -> list[Step]:
        return [
            Step(
                key="foreclosure.scra_check",
                day=start,
                kind=StepKind.TASK,
                rule=R["scra_check"],
                task_kind="scra_check",
                sla_due=self.business_days_after(start, 5),
            ),
            Step(
                key="foreclosure.attorney_referral",
                day=start,
                kind=StepKind.ENFORCEMENT,
                rule=R["referral"],
                foreclosure=True,
                document="foreclosure_referral_notice",
                channel=Channel.LETTER,
            ),
            Step(
                key="foreclosure.first_filing",
                day=start + timedelta(days=30),
                kind=StepKind.ENFORCEMENT,
                rule=R["first_filing"],
                foreclosure=True,
            ),
            Step(
                key="foreclosure.sale_scheduled",
                day=start + timedelta(days=90),
                kind=StepKind.ENFORCEMENT,
                rule=R["sale_scheduled"],
                foreclosure=True,
            ),
            Step(
                key="foreclosure.sale_held",
                day=start + timedelta(days=150),
                kind=StepKind.ENFORCEMENT,
                rule=R["sale_held"],
                foreclosure=True,
                closes_with=CaseOutcome.FORECLOSED,
            ),
        ]

    def stay(self, *, prior_dismissed_within_year: int, chapter: int | None = None) -> StayRule:
        if prior_dismissed_within_year >= 2:
            return StayRule(False, None, R["no_stay"])
        # 362(c)(3) reaches a case under chapter 7, 11 or 13 only: a chapter 12 stay does not lapse
        if prior_dismissed_within_year == 1 and chapter in (None, *REPEAT_FILER_CHAPTERS):
            return StayRule(True, 30, R["stay_30"])
        return StayRule(True, None, R["stay"])

    def stay_order(self, kind: StayOrderKind) -> Rule | None:
        return R["stay_extended"] if kind is StayOrderKind.EXTEND else R["stay_imposed"]

    def chapter13_notices(self) -> tuple[Rule, int, Rule, int] | None:
        return R["payment_change"], 21, R["fee_notice"], 180

    # ---- early intervention while the borrower is a debtor in bankruptcy (12 CFR 1024.39(c))
    def bankruptcy_early_intervention(
        self,
        *,
        chapter: int,
        surrender: bool,
        cease: bool,
        filed_on: date,
        today: date,
        delinquent_since: date,
        court_case: str,
        facts: DebtorFacts | None = None,
    ) -> tuple[Rule, Step | None]:
        """Live contact is exempt while a borrower is a debtor ((c)(1)(i)). The written notice is
        exempt after a cease-communication request under the FDCPA ((d)); where the plan or the
        statement of intention surrenders the property, the plan does not provide for the
        pre-petition arrearage or the maintenance of payments, or avoids the lien; or where a
        court order lifts the stay, avoids the lien or requires collection to cease
        ((c)(1)(ii)). Whatever the chapter, it is otherwise owed once per bankruptcy case, without
        a request for payment, by the 45th day after the petition ((c)(1)(iii)): on the day the
        regular notice would go, if earlier. Without `facts` (runs that recorded none), a chapter
        7 or 11 case or a surrender exempts it, as those runs decided."""
        if cease:
            return R["ei_cease_exempt"], None
        if facts is None:
            if chapter in (7, 11) or surrender:
                return R["ei_bankruptcy_exempt"], None
        elif (exempt := self._debtor_exemption(facts)) is not None:
            return exempt, None
        latest = filed_on + timedelta(days=self.written_notice_day)  # mailed by day 40: there by 45
        regular = (
            delinquent_since + timedelta(days=self.written_notice_day + self.notice_gap_days * k)
            for k in range(200)
        )
        upcoming = next((d for d in regular if d >= filed_on), latest)
        return R["ei_bankruptcy_notice"], Step(
            key=f"early_intervention.bankruptcy.{court_case}.written_notice",
            day=max(min(upcoming, latest), today),
            kind=StepKind.MESSAGE,
            rule=R["ei_bankruptcy_notice"],
            channel=Channel.LETTER,
            document="early_intervention_notice_bankruptcy",
            collection=False,  # no request for payment: stay-safe ((c)(1)(iii)(B))
            detail=f"chapter {chapter} case {court_case}: the written notice without a request for "
            f"payment, due by {(filed_on + timedelta(days=45)).isoformat()}",
        )

    @staticmethod
    def _debtor_exemption(facts: DebtorFacts) -> Rule | None:
        """The rule that exempts the written notice during the bankruptcy case, if one does.

        Written from 1024.39(c) as amended by the 2016 mortgage servicing rule (81 FR 72160); its
        official text was not at hand here, so the lettering of (c)(1)(ii)(A)-(C) cited above is
        to be held against the current eCFR text by a compliance review."""
        if facts.surrender:
            return R["ei_exempt_surrender"]
        if facts.plan_provides_for_arrearage is False:
            return R["ei_exempt_no_arrearage"]
        if facts.lien_avoided:
            return R["ei_exempt_lien_avoided"]
        if facts.stay_lifted or facts.collection_ceased_by_order:
            return R["ei_exempt_order"]
        return None

    def debtor_live_contact_rule(self) -> Rule | None:
        return R["ei_debtor"]

    def bankruptcy_case_end_rule(self) -> Rule | None:
        return R["ei_case_end"]

    def early_intervention_resumes_on(
        self, *, delinquent_since: date, case_ended: date, due_dates: Sequence[date] | None = None
    ) -> date | None:
        """12 CFR 1024.39(c)(2): live contact and the written notice resume after the next payment
        due date that follows the dismissal, closing or discharge of the bankruptcy case: one of
        `due_dates` where given, else counted in 30-day steps as runs did before."""
        if due_dates is not None:
            return next((d for d in due_dates if d > case_ended), None)
        missed = (case_ended - delinquent_since).days // 30 + 1
        return delinquent_since + timedelta(days=30 * missed)

    def scra_rate_cap(self) -> Rule | None:
        return R["rate_cap"]

    def foreclosure_blocked(
        self, *, day: date, delinquent_since: date, application_pending: bool, scra: bool
    ) -> Rule | None:
        if (day - delinquent_since).days < self.foreclosure_day:
            return R["first_filing_120"]
        if application_pending:
            return R["dual_tracking"]
        if scra:
            return R["scra"]
        return None


_C = Channel
US_MORTGAGE = UsMortgage(
    name=PolicyPack.US_MORTGAGE,
    country="US",
    currency="USD",
    languages=("en", "es"),
    default_timezone="America/New_York",
    case_opening=R["opening"],
    reminder_rule=R["reminder"],
    cadence={
        Segment.GOOD: (Reminder(5, _C.EMAIL, "reminder"), Reminder(16, _C.LETTER, "late_notice")),
        Segment.FORGETFUL: (
            Reminder(3, _C.SMS, "reminder_direct_debit"),
            Reminder(10, _C.EMAIL, "reminder_direct_debit"),
            Reminder(16, _C.LETTER, "late_notice"),
        ),
        Segment.BAD: (
            Reminder(2, _C.LETTER, "late_notice"),
            Reminder(7, _C.SMS, "reminder"),
            Reminder(14, _C.LETTER, "late_notice"),
        ),
    },
    contact_window_rule=R["window"],
    frequency_caps={
        _C.CALL: (7, 7, R["call_cap"]),
        _C.SMS: (3, 7, R["sms_cap"]),
        _C.EMAIL: (5, 7, R["email_cap"]),
    },
    call_after_conversation=(7, R["call_conversation"]),
    promise_rule=R["promise"],
    ack_rule=R["ack"],
    evaluation_rule=R["evaluation"],
    appeal_rule=R["appeal"],
    acceptance_rule=R["acceptance"],
    late_application_rule=R["late_application"],
    forbearance_rule=R["forbearance"],
    stay_rule=R["stay"],
    charge_off_rule=R["charge_off"],
    proof_of_claim_days=70,
    proof_of_claim_rule=R["proof_of_claim"],
    proof_of_claim_document="proof_of_claim_cover",
)
