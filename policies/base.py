"""What a policy pack is: rules with citations, cadences, deadlines and fees. Pure and deterministic."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from models.enums import CaseOutcome, CaseStage, Channel, PolicyPack, Segment
from policies.calendar import add_business_days, next_business_day


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule a step is taken under: pack-qualified ID and the legal citation."""

    id: str
    citation: str


class StepKind(StrEnum):
    MESSAGE = "message"  # a reminder, letter or notice to the borrower
    TASK = "task"  # a person must act before the SLA deadline
    FEE = "fee"  # a charge added to the debt
    ENFORCEMENT = "enforcement"  # a legal collection or foreclosure step
    ADVANCE = "advance"  # the stage is over: move on


@dataclass(frozen=True, slots=True)
class Step:
    """One scheduled action a pack asks for: what, when, under which rule."""

    key: str  # unique within the case: the effect's idempotency key
    day: date
    kind: StepKind
    rule: Rule
    channel: Channel | None = None
    document: str | None = None
    task_kind: str | None = None
    sla_due: date | None = None
    amount: Decimal | None = None
    collection: bool = True  # collection-related: never during a stay
    foreclosure: bool = False  # a foreclosure step: guarded by day 121, dual tracking, SCRA
    series: str | None = None  # steps of one series keep `min_gap_days` apart
    min_gap_days: int = 0
    closes_with: CaseOutcome | None = None  # the case ends with this outcome after the step
    detail: str = ""
    deadline: date | None = None  # the last day the document gives the borrower
    facts: Mapping[str, str] = field(default_factory=dict)  # what the document says beyond the case


@dataclass(frozen=True, slots=True)
class Reminder:
    """A cadence entry: on day `day` of delinquency, send `document` by `channel`."""

    day: int
    channel: Channel
    document: str


class StayOrderKind(StrEnum):
    EXTEND = "extend"  # the stay goes on past its lapse (US: 11 U.S.C. 362(c)(3)(B))
    IMPOSE = "impose"  # a stay that did not arise takes effect (US: 11 U.S.C. 362(c)(4)(B))


@dataclass(frozen=True, slots=True)
class DebtorFacts:
    """What is known of a borrower's bankruptcy case that decides the written early-intervention
    notice (12 CFR 1024.39(c)(1)(ii)): the plan or statement of intention, and court orders."""

    surrender: bool = False  # the plan or the statement of intention surrenders the property
    plan_provides_for_arrearage: bool | None = None  # None: no plan known yet
    lien_avoided: bool = False  # by the plan or a court order
    stay_lifted: bool = False  # a court order lifting the stay as to the property
    collection_ceased_by_order: bool = False  # a court order requiring collection to cease


@dataclass(frozen=True, slots=True)
class StayRule:
    """What a bankruptcy filing does, given the prior dismissed cases within a year."""

    in_force: bool
    ends_after_days: int | None
    rule: Rule


@dataclass(frozen=True)
class Pack(ABC):
    """A jurisdiction's rules. Subclasses add what only they have (early-stage letters, fees)."""

    name: PolicyPack
    country: str
    currency: str
    languages: tuple[str, ...]
    default_timezone: str
    case_opening: Rule
    reminder_rule: Rule
    cadence: dict[Segment, tuple[Reminder, ...]]
    contact_window: tuple[int, int] = (8, 21)
    contact_window_rule: Rule = Rule("contact.window", "servicing policy: 08:00-21:00 local time")
    # channel -> (at most this many, in this many days, rule); counted per case
    frequency_caps: dict[Channel, tuple[int, int, Rule]] = field(default_factory=dict)
    # no call placed for this many days after a telephone conversation (the day of it the first)
    call_after_conversation: tuple[int, Rule] | None = None
    promise_rule: Rule = Rule("promise_to_pay", "servicing policy")
    promise_grace_days: int = 2
    # loss mitigation (US numbers from 12 CFR 1024.41; other packs reuse them as service levels)
    ack_business_days: int = 5
    ack_rule: Rule = Rule("loss_mitigation.acknowledgment", "")
    evaluation_days: int = 30
    evaluation_rule: Rule = Rule("loss_mitigation.evaluation", "")
    appeal_window_days: int = 14
    appeal_min_days_before_sale: int = 90
    appeal_rule: Rule = Rule("loss_mitigation.appeal", "")
    protection_min_days_before_sale: int = 38  # "more than 37 days before a foreclosure sale"
    late_application_rule: Rule = Rule("loss_mitigation.late_application", "")
    appeal_decision_days: int = 30
    acceptance_days: int = 14  # to accept an offer; 7 when the application came near a sale
    acceptance_days_near_sale: int = 7
    acceptance_rule: Rule = Rule("loss_mitigation.offer_acceptance", "")
    forbearance_rule: Rule = Rule("forbearance", "")
    forbearance_review_days: int = 10
    eba_rule: Rule = Rule("eba.forbearance", "EBA/GL/2018/06; CRR Art. 47b")
    # CRR Art. 178 default: past due more than `default_days` on a material amount, where the
    # arrears exceed both the absolute threshold and the share of the exposure; None: no CRR.
    default_days: int = 90
    default_materiality: tuple[Decimal, Decimal] | None = None
    default_rule: Rule = Rule("eba.default", "CRR Art. 178(1)(b); Delegated Regulation (EU) 2018/171")
    stay_rule: Rule = Rule("bankruptcy.stay", "")
    # A staff close as charged off: from this many days past due (and, under the CRR, in default).
    charge_off_days: int = 180
    charge_off_rule: Rule = Rule("charge_off", "servicing policy")
    proof_of_claim_days: int = 70
    proof_of_claim_rule: Rule = Rule("bankruptcy.proof_of_claim", "")
    proof_of_claim_document: str | None = None  # a cover sheet rendered for staff to file
    escalation_rule: Rule = Rule("task.escalation", "servicing policy: SLA breach")
    enforcement_rules: dict[str, Rule] = field(default_factory=dict)
    # a strategy variant's fee for the first written reminder, within the pack's cap (0: no fee);
    # None: the pack's own (see `reminder_fee`)
    variant_reminder_fee: Decimal | None = None

    def for_loan(
        self, *, product: str | None, installment: Decimal | None, opened_on: date, days_past_due: int
    ) -> Pack:
        """The pack as it applies to one loan: where the rules follow the product or the due
        schedule (Belgium: Book VII or XIX by product), a copy that knows them; else itself."""
        return self

    # ---- time
    def business_days_after(self, start: date, days: int) -> date:
        """The `days`-th business day after `start` in this pack's country."""
        return add_business_days(start, days, self.country)

    def next_business_day(self, day: date) -> date:
        """`day`, or the next business day after it."""
        return next_business_day(day, self.country)

    # ---- segments and stages
    def segment(self, *, broken_promises: int, days_past_due_at_open: int) -> Segment:
        """Bad: two broken promises, or first seen 60+ days late; forgetful: under 15 days late."""
        if broken_promises >= 2 or days_past_due_at_open >= 60:
            return Segment.BAD
        if broken_promises == 0 and days_past_due_at_open < 15:
            return Segment.FORGETFUL
        return Segment.GOOD

    def initial_stage(self, days_past_due: int) -> CaseStage:
        """Where a case opened at `days_past_due` starts: enforcement once the early stage is over."""
        return CaseStage.ENFORCEMENT if days_past_due >= self.enforcement_day() else CaseStage.EARLY

    @abstractmethod
    def enforcement_day(self) -> int:
        """The day of delinquency from which enforcement may begin, absent anything else."""

    # ---- stage plans
    def early_steps(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date] | None = None,
    ) -> list[Step]:
        """The early stage from today: reminders still ahead, the pack's letters, then ADVANCE.

        `taken` maps the keys of steps already taken to their day, so that deadlines counted
        from a letter stay fixed once it went out.
        """
        steps = [
            Step(
                key=f"reminder.{segment.value}.{i}",
                day=delinquent_since + timedelta(days=r.day),
                kind=StepKind.MESSAGE,
                rule=self.reminder_rule,
                channel=r.channel,
                document=r.document,
            )
            for i, r in enumerate(self.cadence[segment], start=1)
            if delinquent_since + timedelta(days=r.day) >= today
        ]
        steps += self.early_letters(
            segment=segment,
            delinquent_since=delinquent_since,
            arrears=arrears,
            today=today,
            taken=taken or {},
        )
        return sorted(steps, key=_order)

    @abstractmethod
    def early_letters(
        self,
        *,
        segment: Segment,
        delinquent_since: date,
        arrears: Decimal,
        today: date,
        taken: Mapping[str, date],
    ) -> list[Step]:
        """Pack-specific early-stage steps, ending with the ADVANCE to enforcement."""

    def still_allowed(self, step: Step, *, arrears: Decimal, on: date) -> bool:
        """May a planned step still be taken on `on`, the arrears being what they are now? (A
        payment since it was planned may have taken the case below a legal threshold.)"""
        return True

    @abstractmethod
    def enforcement_steps(self, *, start: date, arrears: Decimal) -> list[Step]:
        """The enforcement track from `start`."""

    def plan_fee(self) -> tuple[Decimal, Rule] | None:
        """A statutory fee for setting up a payment plan, where the law allows one."""
        return None

    def reminder_fee(self, *, agreed: bool) -> tuple[Decimal, Rule] | None:
        """A fee for the first written reminder, where the law allows one (`agreed`: in the loan)."""
        return None

    def recurring_obligations(
        self,
        *,
        delinquent_since: date,
        opened_on: date,
        resume_on: date | None = None,
        due_dates: Sequence[date] | None = None,
        discharged: bool = False,
    ) -> list[Step]:
        """Obligations that repeat while delinquent (US early intervention); none by default.
        `resume_on`: where they resume after a bankruptcy case, if the pack's law says so;
        `due_dates`: the payment due dates from `delinquent_since` on, which key the steps (without
        them, steps are numbered from the start, as runs planned them before); `discharged`: the
        borrower's personal liability was discharged in that bankruptcy case."""
        return []

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
    ) -> tuple[Rule, Step | None] | None:
        """What early intervention owes a debtor in bankruptcy (the rule, and the notice if one
        goes out); None where the pack has no early intervention. Without `facts`, as runs
        decided before they were recorded (by chapter and surrender)."""
        return None

    def debtor_live_contact_rule(self) -> Rule | None:
        """The rule that exempts live contact while the borrower is a debtor, where the pack has it."""
        return None

    def bankruptcy_case_end_rule(self) -> Rule | None:
        """The rule early intervention resumes under once the bankruptcy case ends, if any."""
        return None

    def early_intervention_resumes_on(
        self, *, delinquent_since: date, case_ended: date, due_dates: Sequence[date] | None = None
    ) -> date | None:
        """The day early intervention resumes after a bankruptcy case, where the pack has it."""
        return None

    def chapter13_notices(self) -> tuple[Rule, int, Rule, int] | None:
        """(payment-change rule, days of notice, fee-notice rule, days to give it), if any."""
        return None

    def scra_rate_cap(self) -> Rule | None:
        """The servicemember interest cap, where the pack's law has one."""
        return None

    def stay(self, *, prior_dismissed_within_year: int, chapter: int | None = None) -> StayRule:
        """A filing stops collection until relief, dismissal or discharge.

        `chapter` None: the chapter is not considered (filings recorded before it was).
        """
        return StayRule(True, None, self.stay_rule)

    def stay_order(self, kind: StayOrderKind) -> Rule | None:
        """The rule under which a court extends or imposes the stay, where the law has one."""
        return None

    def foreclosure_blocked(
        self, *, day: date, delinquent_since: date, application_pending: bool, scra: bool
    ) -> Rule | None:
        """The rule that forbids a foreclosure step today, or None. Only US has foreclosure."""
        return None


def _order(step: Step) -> tuple[date, int]:
    return (step.day, 1 if step.kind is StepKind.ADVANCE else 0)


def material_arrears(arrears: Decimal, exposure: Decimal | None, thresholds: tuple[Decimal, Decimal]) -> bool:
    """Past due on a material amount: above the absolute threshold and above the share of the exposure."""
    absolute, relative = thresholds
    if arrears <= absolute:
        return False
    return exposure is None or exposure <= 0 or arrears > exposure * relative
