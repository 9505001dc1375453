"""The bankruptcy stay: every collection action stops at once; only stay-safe documents (the
proof of claim, chapter 13 notices) go out until relief, dismissal or discharge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.audit_actions import stay_resolution_key
    from models.enums import CaseOutcome, CaseStage, Channel, StayResolution
    from policies import Rule, Step, StepKind
    from policies.base import DebtorFacts, StayOrderKind
    from workflows.dto import (
        BankruptcyCaseEnd,
        BankruptcyFacts,
        BankruptcyFiling,
        BankruptcyResolution,
        DebtorCase,
        Hold,
        PaymentChange,
        Period,
        PostPetitionFee,
        StayOrder,
        StayState,
    )

from workflows.case.context import Case, Transition
from workflows.case.effects import Effects, observe
from workflows.case.patches import (
    BANKRUPTCY_CASE_PATCH,
    BANKRUPTCY_EARLY_INTERVENTION_PATCH,
    DOCUMENTS_PATCH,
    EI_BY_DUE_DATE_PATCH,
    STAY_CHAPTER_PATCH,
)
from workflows.case.tasks import Tasks


class Bankruptcy:
    """The stay stage and the bankruptcy updates."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def run(self) -> Transition:
        c = self.c
        stay = c.m.stay
        assert stay is not None
        await self.tasks.cancel_open("bankruptcy stay")
        bar_date = stay.filed_on + timedelta(days=c.pack.proof_of_claim_days)
        poc_key = f"bankruptcy.{stay.court_case}.proof_of_claim"
        first = poc_key not in c.m.tasks
        await self.tasks.task(poc_key, "proof_of_claim", c.pack.proof_of_claim_rule, bar_date, wait=False)
        cover = c.pack.proof_of_claim_document
        if first and cover is not None and c.patched(DOCUMENTS_PATCH):
            # the cover sheet staff file with the claim: stored, not sent to the borrower
            await self.fx.do(
                Step(
                    key=f"{poc_key}.cover",
                    day=c.today(),
                    kind=StepKind.MESSAGE,
                    rule=c.pack.proof_of_claim_rule,
                    document=cover,
                    collection=False,
                    deadline=bar_date,
                    facts={
                        "court_case": stay.court_case,
                        "chapter": str(stay.chapter),
                        "filed_on": stay.filed_on.isoformat(),
                    },
                    detail=f"proof of claim due {bar_date.isoformat()}",
                )
            )
        notice: asyncio.Task[None] | None = None
        if workflow.patched(BANKRUPTCY_EARLY_INTERVENTION_PATCH):
            notice = asyncio.create_task(self._early_intervention(stay))
            notice.add_done_callback(observe)
        try:
            await self._wait_out(stay)
        finally:
            if notice is not None:
                notice.cancel()
        resolution = stay.resolution or "expired"
        stay.resolution = resolution
        if c.m.bankruptcy is not None:  # the case goes on after relief or a lapse; resumes at its end
            if resolution == "relief":
                c.m.bankruptcy.stay_lifted = True
            if c.m.bankruptcy.ended is not None:
                resume_after_case(c, c.m.bankruptcy)
        elif notice is not None and resolution == "dismissal":
            c.m.early_intervention_resumes_on = c.pack.early_intervention_resumes_on(
                delinquent_since=c.delinquent_since(),
                case_ended=c.today(),
                due_dates=c.due_dates(until=c.today()) if workflow.patched(EI_BY_DUE_DATE_PATCH) else None,
            )
        self._close_stay()
        if resolution == "discharge":
            return Transition(None, "debt discharged in bankruptcy", CaseOutcome.CHARGED_OFF)
        if c.m.arrears <= 0:
            return Transition(None, f"stay {resolution}; arrears paid", CaseOutcome.CURED)
        return Transition(stay.resume_stage, f"stay ended by {resolution}")

    async def _early_intervention(self, stay: StayState) -> None:
        """12 CFR 1024.39(c)(1): no live contact while the borrower is a debtor (the obligations
        do not run during the stay); the written notice exempt, or one modified notice."""
        await written_notice_while_debtor(
            self.c,
            self.fx,
            chapter=stay.chapter,
            court_case=stay.court_case,
            filed_on=stay.filed_on,
            surrender=stay.surrender,
        )

    async def _wait_out(self, stay: StayState) -> None:
        """Until a resolution, or the stay's lapse; a court order that extends it moves the lapse."""
        c = self.c
        while stay.resolution is None:
            ends_on = stay.ends_on
            if ends_on is None:
                await workflow.wait_condition(lambda: stay.resolution is not None)
                return
            c.show_one(f"bankruptcy.{stay.court_case}.stay_ends", "deadline", ends_on, c.pack.stay_rule)
            woke = await c.sleep_until(ends_on, _moved_or_resolved(stay, ends_on))
            if not woke:
                return  # lapsed

    def _close_stay(self) -> None:
        c = self.c
        if c.m.stays and c.m.stays[-1].end is None:
            c.m.stays[-1].end = workflow.now()
        for hold in c.m.holds:
            if hold.kind == "stay" and hold.until is None:
                hold.until = c.today()
        c.m.stay = None

    # ------------------------------------------------------------------ updates
    async def record_filing(self, filing: BankruptcyFiling) -> str:
        """A bankruptcy filing: the stay stops every collection action at once, if it arises."""
        c = self.c
        if workflow.patched(BANKRUPTCY_CASE_PATCH):
            c.m.bankruptcy = DebtorCase(
                court_case=filing.court_case,
                chapter=filing.chapter,
                filed_on=filing.filed_on,
                surrender=filing.surrender,
                plan_provides_for_arrearage=filing.plan_provides_for_arrearage,
                lien_avoided=filing.lien_avoided,
                collection_ceased_by_order=filing.collection_ceased_by_order,
            )
            c.version += 1
        prior = filing.prior_dismissed_within_year
        rule = c.pack.stay(prior_dismissed_within_year=prior, chapter=filing.chapter)
        if rule != c.pack.stay(prior_dismissed_within_year=prior) and not workflow.patched(
            STAY_CHAPTER_PATCH
        ):
            rule = c.pack.stay(prior_dismissed_within_year=prior)  # as runs before the patch decided
        if not rule.in_force:
            c.m.filing_without_stay = filing
            await self.fx.staff_record(
                filing,
                key=f"bankruptcy.{filing.court_case}.no_stay",
                kind="bankruptcy",
                rule=rule.rule,
                detail=f"chapter {filing.chapter} filed {filing.filed_on}: no stay arises (repeat filer)",
            )
            return "no stay arises"
        c.m.filing_without_stay = None
        ends_on = filing.filed_on + timedelta(days=rule.ends_after_days) if rule.ends_after_days else None
        self._start_stay(filing, rule.rule, ends_on)
        return "stay in force" + (f" until {ends_on.isoformat()}" if ends_on else "")

    def _start_stay(self, filing: BankruptcyFiling, hold_rule: Rule, ends_on: date | None) -> None:
        """The stay in force from today: every collection action stops at once."""
        c = self.c
        resume = c.m.stage if c.m.stage is not CaseStage.BANKRUPTCY_STAY else CaseStage.EARLY
        c.m.stay = StayState(
            chapter=filing.chapter,
            court_case=filing.court_case,
            filed_on=filing.filed_on,
            ends_on=ends_on,
            resume_stage=resume if resume is not CaseStage.LOSS_MITIGATION else CaseStage.EARLY,
            surrender=filing.surrender,
        )
        c.m.stays.append(Period(start=workflow.now()))
        c.m.holds.append(
            Hold(
                kind="stay",
                since=c.today(),
                until=None,
                rule_id=hold_rule.id,
                citation=hold_rule.citation,
            )
        )
        c.m.promise = None
        c.end_pending_application()
        c.version += 1
        c.interrupt_with(
            Transition(
                CaseStage.BANKRUPTCY_STAY, f"chapter {filing.chapter} case {filing.court_case}", priority=2
            )
        )

    def validate_filing(self, filing: BankruptcyFiling) -> None:
        c = self.c
        c.require_open()
        if c.m.stay is not None:
            raise ApplicationError("a stay is already in force")
        if filing.filed_on > c.today():
            raise ApplicationError("filed_on is in the future")

    async def record_order(self, order: StayOrder) -> str:
        """A court order: the stay extended past its lapse, or imposed where none arose."""
        c = self.c
        kind = StayOrderKind(order.kind)
        rule = c.pack.stay_order(kind)
        assert rule is not None
        if kind is StayOrderKind.EXTEND:
            assert c.m.stay is not None
            court_case, lapse = c.m.stay.court_case, c.m.stay.ends_on
            c.m.stay.ends_on = None  # in force until relief, dismissal or discharge
            c.version += 1
            detail = f"stay extended on {order.on.isoformat()}: it no longer lapses on {lapse}"
        else:
            filing = c.m.filing_without_stay
            assert filing is not None
            court_case, c.m.filing_without_stay = filing.court_case, None
            self._start_stay(filing, rule, None)
            detail = f"stay imposed on {order.on.isoformat()}: in force from today"
        await self.fx.staff_record(
            order,
            key=f"bankruptcy.{court_case}.stay_order.{kind.value}",
            kind="bankruptcy",
            rule=rule,
            detail=f"{detail}; {order.reason}",
        )
        return "stay extended" if kind is StayOrderKind.EXTEND else "stay in force"

    def validate_order(self, order: StayOrder) -> None:
        c = self.c
        c.require_open()
        kind = StayOrderKind(order.kind)
        rule = c.pack.stay_order(kind)
        if rule is None:
            raise ApplicationError(f"{c.pack.name.value}: the law has no court order that does this")
        if order.on > c.today():
            raise ApplicationError("on is in the future")
        stay = c.m.stay
        if kind is StayOrderKind.EXTEND:
            if stay is None or stay.resolution is not None or stay.ends_on is None:
                raise ApplicationError("no stay in force that would lapse")
            if order.on >= stay.ends_on:
                raise ApplicationError(
                    f"{rule.citation}: the stay lapsed on {stay.ends_on.isoformat()}; "
                    "an extension must be ordered before"
                )
        else:
            filing = c.m.filing_without_stay
            if stay is not None or filing is None:
                raise ApplicationError("no filing without a stay to impose one on")
            if order.on < filing.filed_on:
                raise ApplicationError("the order comes before the filing")

    async def resolve(self, resolution: BankruptcyResolution) -> str:
        """Relief from stay, dismissal or discharge."""
        c = self.c
        assert c.m.stay is not None
        c.m.stay.resolution = resolution.kind
        debtor = c.m.bankruptcy
        if debtor is not None and resolution.kind != "relief":  # the stay ends with the case
            debtor.ended = "dismissed" if resolution.kind == "dismissal" else "discharged"
            debtor.ended_on = resolution.on
        c.version += 1
        await self.fx.staff_record(
            resolution,
            key=stay_resolution_key(c.m.stay.court_case, StayResolution(resolution.kind)),
            kind="bankruptcy",
            rule=c.pack.stay_rule,
            detail=f"{resolution.kind} on {resolution.on.isoformat()}: {resolution.reason}",
        )
        return resolution.kind

    def validate_resolution(self, resolution: BankruptcyResolution) -> None:
        if self.c.m.stay is None or self.c.m.stay.resolution is not None:
            raise ApplicationError("no bankruptcy stay is in force")

    async def record_facts(self, facts: BankruptcyFacts) -> str:
        """What the plan, the statement of intention or a court order says (1024.39(c)(1)(ii))."""
        c = self.c
        debtor = c.m.bankruptcy
        assert debtor is not None
        recorded = facts.model_dump(
            include={
                "surrender",
                "plan_provides_for_arrearage",
                "lien_avoided",
                "collection_ceased_by_order",
            },
            exclude_none=True,
        )
        for name, value in recorded.items():
            setattr(debtor, name, value)
        c.version += 1
        rule, notice = _notice_decision(
            c, debtor.chapter, debtor.court_case, debtor.filed_on, debtor.surrender
        )
        owed = "exempt" if notice is None else "owed without a request for payment"
        await self.fx.staff_record(
            facts,
            key=f"bankruptcy.{debtor.court_case}.facts.{len(c.m.actions)}",
            kind="bankruptcy",
            rule=rule,
            detail=f"on {facts.on.isoformat()}: "
            + ", ".join(f"{name} {str(value).lower()}" for name, value in sorted(recorded.items()))
            + f"; written early-intervention notice {owed}",
        )
        return f"written notice {owed}"

    def validate_facts(self, facts: BankruptcyFacts) -> None:
        debtor = self._open_debtor_case()
        if facts.on > self.c.today():
            raise ApplicationError("on is in the future")
        if facts.on < debtor.filed_on:
            raise ApplicationError(f"on is before the filing ({debtor.filed_on.isoformat()})")
        if all(
            v is None
            for v in (
                facts.surrender,
                facts.plan_provides_for_arrearage,
                facts.lien_avoided,
                facts.collection_ceased_by_order,
            )
        ):
            raise ApplicationError("no fact given: set at least one of the plan's or the court's facts")

    async def end_case(self, end: BankruptcyCaseEnd) -> str:
        """The bankruptcy case was dismissed, closed or discharged: early intervention resumes
        after the next payment due date (12 CFR 1024.39(c)(2))."""
        c = self.c
        debtor = c.m.bankruptcy
        assert debtor is not None
        debtor.ended, debtor.ended_on = end.kind, end.on
        if c.m.filing_without_stay is not None and c.m.filing_without_stay.court_case == debtor.court_case:
            c.m.filing_without_stay = None  # no stay can be imposed in a case that is over
        resume_after_case(c, debtor)
        resumes = c.m.early_intervention_resumes_on
        c.version += 1
        await self.fx.staff_record(
            end,
            key=f"bankruptcy.{debtor.court_case}.case_end.{end.kind}",
            kind="bankruptcy",
            rule=c.pack.bankruptcy_case_end_rule() or c.pack.stay_rule,
            detail=f"bankruptcy case {end.kind} on {end.on.isoformat()}"
            + (f": early intervention resumes after the due date {resumes.isoformat()}" if resumes else ""),
        )
        return f"early intervention resumes after {resumes.isoformat()}" if resumes else end.kind

    def validate_case_end(self, end: BankruptcyCaseEnd) -> None:
        debtor = self._open_debtor_case()
        if self.c.m.stay is not None:
            raise ApplicationError(
                "the stay is in force: record the dismissal or discharge as the stay's resolution, "
                "which ends the bankruptcy case too"
            )
        if end.on > self.c.today():
            raise ApplicationError("on is in the future")
        if end.on < debtor.filed_on:
            raise ApplicationError(f"on is before the filing ({debtor.filed_on.isoformat()})")

    def _open_debtor_case(self) -> DebtorCase:
        c = self.c
        c.require_open()
        debtor = c.m.bankruptcy
        if debtor is None or debtor.ended is not None:
            raise ApplicationError("no bankruptcy case is open on this loan")
        return debtor

    async def payment_change(self, change: PaymentChange) -> str:
        """Give the chapter 13 payment-change notice (a stay-safe notice the court rules require)."""
        c = self.c
        rules = c.pack.chapter13_notices()
        assert rules is not None and c.m.stay is not None
        await self.fx.do(
            Step(
                key=f"bankruptcy.{c.m.stay.court_case}.payment_change.{change.effective_on.isoformat()}",
                day=c.today(),
                kind=StepKind.MESSAGE,
                rule=rules[0],
                channel=Channel.LETTER,
                document="payment_change_notice",
                amount=change.new_amount,
                collection=False,
                facts={
                    "court_case": c.m.stay.court_case,
                    "effective_on": change.effective_on.isoformat(),
                },
                detail=f"new payment {change.new_amount} from {change.effective_on.isoformat()}",
            ),
            due=change.effective_on - timedelta(days=rules[1]),
        )
        return "notice given"

    def validate_payment_change(self, change: PaymentChange) -> None:
        rules = self._chapter13_rules()
        today = self.c.today()
        if change.effective_on < today + timedelta(days=rules[1]):
            raise ApplicationError(
                f"{rules[0].citation}: notice must be given at least {rules[1]} days before the new "
                f"payment is due; the earliest effective date now is "
                f"{(today + timedelta(days=rules[1])).isoformat()}"
            )

    async def post_petition_fee(self, fee: PostPetitionFee) -> str:
        """A post-petition fee: a task to file its notice within the rule's days."""
        c = self.c
        rules = self._chapter13_rules()
        assert c.m.stay is not None
        due = fee.incurred_on + timedelta(days=rules[3])
        await self.tasks.task(
            f"bankruptcy.{c.m.stay.court_case}.fee_notice.{fee.incurred_on.isoformat()}.{len(c.m.tasks)}",
            "fee_notice",
            rules[2],
            due,
            wait=False,
        )
        return f"fee notice due by {due.isoformat()}"

    def validate_fee(self, fee: PostPetitionFee) -> None:
        self._chapter13_rules()
        if fee.incurred_on > self.c.today():
            raise ApplicationError("incurred_on is in the future")

    def _chapter13_rules(self) -> tuple[Rule, int, Rule, int]:
        rules = self.c.pack.chapter13_notices()
        if rules is None or self.c.m.stay is None or self.c.m.stay.chapter != 13:
            raise ApplicationError("only during a chapter 13 stay under a pack with FRBP 3002.1")
        return rules


def _facts(c: Case, court_case: str) -> DebtorFacts | None:
    """The recorded facts of the bankruptcy case; None for runs that recorded none."""
    debtor = c.m.bankruptcy
    if debtor is None or debtor.court_case != court_case:
        return None
    return DebtorFacts(
        surrender=debtor.surrender,
        plan_provides_for_arrearage=debtor.plan_provides_for_arrearage,
        lien_avoided=debtor.lien_avoided,
        stay_lifted=debtor.stay_lifted,
        collection_ceased_by_order=debtor.collection_ceased_by_order,
    )


def _notice_decision(
    c: Case, chapter: int, court_case: str, filed_on: date, surrender: bool
) -> tuple[Rule, Step | None]:
    decision = c.pack.bankruptcy_early_intervention(
        chapter=chapter,
        surrender=surrender,
        cease=any(h.kind == "cease" and not h.channels for h in c.active_holds()),
        filed_on=filed_on,
        today=c.today(),
        delinquent_since=c.delinquent_since(),
        court_case=court_case,
        facts=_facts(c, court_case),
    )
    return decision if decision is not None else (c.pack.stay_rule, None)


async def written_notice_while_debtor(
    c: Case,
    fx: Effects,
    *,
    chapter: int,
    court_case: str,
    filed_on: date,
    surrender: bool,
    ended: Callable[[], bool] = lambda: False,
) -> None:
    """12 CFR 1024.39(c)(1): while the borrower is a debtor, the written notice exempt (recorded
    as such) or one modified notice per bankruptcy case; nothing more once `ended`."""
    decision = c.pack.bankruptcy_early_intervention(
        chapter=chapter,
        surrender=surrender,
        cease=False,
        filed_on=filed_on,
        today=c.today(),
        delinquent_since=c.delinquent_since(),
        court_case=court_case,
    )
    if decision is None:
        return  # the pack has no early intervention
    rule, step = _notice_decision(c, chapter, court_case, filed_on, surrender)
    key = f"early_intervention.bankruptcy.{court_case}"
    if step is not None and step.key not in c.m.done:
        if await c.sleep_until(step.day, ended):
            return
        rule, now = _notice_decision(c, chapter, court_case, filed_on, surrender)  # a cease may have come
        if now is not None:
            await fx.do(step)
            return
    if step is None or step.key not in c.m.done:
        if f"{key}.exempt" in c.m.done:
            return
        await fx.record(
            key=f"{key}.exempt",
            kind="message",
            status="suppressed",
            rule=rule,
            detail=f"chapter {chapter} case {court_case}: no live contact, no written notice",
            collection=False,
        )
        c.m.done[f"{key}.exempt"] = c.today()


def resume_after_case(c: Case, debtor: DebtorCase) -> None:
    """Early intervention resumes after the next payment due date following the case's end."""
    assert debtor.ended_on is not None
    c.m.early_intervention_resumes_on = c.pack.early_intervention_resumes_on(
        delinquent_since=c.delinquent_since(),
        case_ended=debtor.ended_on,
        due_dates=c.due_dates(until=debtor.ended_on),
    )


def _moved_or_resolved(stay: StayState, ends_on: date) -> Callable[[], bool]:
    return lambda: stay.resolution is not None or stay.ends_on != ends_on
