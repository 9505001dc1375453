"""A simulated open case's month: reminders and their engagement, calls, promises to pay, and
loss-mitigation applications with their Reg X deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from arrears.analytics.history import STAFF, WORKFLOW, CaseHistory, _Case, _pick, _uuid
from models.audit_actions import AuditAction, acknowledgment_key
from models.enums import CaseStage, PolicyPack


class CaseWork(CaseHistory):
    """What happens on an open case in a month."""

    def work(self, case: _Case, month: int, k: int, new_k: int, installment: Decimal, the_pack: Any) -> None:
        """A month of an open case: reminders, calls, a promise, perhaps loss mitigation."""
        rng, odds = self.rng, self.model.outcomes
        paid = new_k <= k
        for _ in range(rng.randint(*odds.messages_per_month)):
            self.message(case, month, paid)
        reached = False
        for _ in range(rng.randint(*odds.calls_per_month)):
            at = self.moment(month)
            outcome = _pick(rng, odds.call_outcomes)
            reached = reached or outcome == "reached"
            case.seq += 1
            self.step(
                case,
                AuditAction.CONTACT_DONE,
                at,
                f"contact.{case.seq}",
                actor=STAFF,
                rule_id="contact.recorded",
                citation="12 CFR 1024.39(a); 12 CFR 1006.14(b)",
                detail=f"call: {outcome}; synthetic portfolio",
                channel="call",
                collection=False,
            )
        if reached and rng.random() < odds.promise_given_reached:
            made = self.moment(month)
            case.seq += 1
            due = min(made.date() + timedelta(days=rng.randint(3, 20)), self.ends[month] + timedelta(days=25))
            rule = the_pack.promise_rule
            self.step(
                case,
                AuditAction.PROMISE_DONE,
                made,
                f"promise.{case.seq}.recorded",
                actor=STAFF,
                rule_id=rule.id,
                citation=rule.citation,
                detail=f"promised {installment} by {due.isoformat()}: synthetic portfolio",
                amount=str(installment),
                due=due.isoformat(),
                collection=False,
            )
            check = datetime.combine(due + timedelta(days=the_pack.promise_grace_days), time(6), UTC)
            if check.date() < self.ends[-1]:
                case.seq += 1
                self.step(
                    case,
                    AuditAction.PROMISE_DONE,
                    check,
                    f"promise.{case.seq}",
                    rule_id=rule.id,
                    citation=rule.citation,
                    detail=("kept" if paid else "broken") + f": {installment} by {due.isoformat()}",
                    collection=False,
                )
        if (
            self.pack is PolicyPack.US_MORTGAGE
            and case.stage is CaseStage.EARLY
            and 2 <= k <= 3
            and rng.random() < odds.loss_mitigation_per_month
        ):
            self.loss_mitigation(case, month, k, the_pack)

    def loss_mitigation(self, case: _Case, month: int, k: int, the_pack: Any) -> None:
        rng, odds = self.rng, self.model.outcomes
        at = self.moment(month)
        self.stage(case, at, CaseStage.LOSS_MITIGATION, 30 * (k - 1))
        case.applications += 1
        n = case.applications
        due = the_pack.business_days_after(at.date(), the_pack.ack_business_days)
        late = rng.random() < odds.acknowledgment_late
        sent = datetime.combine(
            due + timedelta(days=rng.randint(1, 6))
            if late
            else at.date() + timedelta(days=rng.randint(0, 3)),
            time(14),
            UTC,
        )
        self.step(
            case,
            AuditAction.MESSAGE_DONE,
            sent,
            acknowledgment_key(n),
            due=due.isoformat(),
            channel="letter",
            detail="acknowledgment",
        )
        task = f"loss_mitigation.{n}.evaluation"
        eval_due = at.date() + timedelta(days=30)
        self.event(
            case,
            WORKFLOW,
            AuditAction.TASK_CREATED,
            at + timedelta(seconds=5),
            {"task": task, "kind": "evaluation", "due": eval_due.isoformat()},
            reason="evaluate the application",
        )
        decided = (
            eval_due + timedelta(days=rng.randint(1, 10))
            if rng.random() < odds.evaluation_late
            else at.date() + timedelta(days=rng.randint(5, 29))
        )
        if decided < self.ends[-1]:
            self.event(
                case,
                WORKFLOW,
                AuditAction.TASK_DONE,
                datetime.combine(decided, time(15), UTC),
                {"task": task},
                reason="evaluation decided",
            )

    def message(self, case: _Case, month: int, paid: bool) -> None:
        rng, odds = self.rng, self.model.outcomes
        at = self.moment(month)
        case.seq += 1
        key = f"reminder.{case.segment.value}.{case.seq}"
        channel = rng.choice(("email", "sms", "letter"))
        failed = rng.random() < odds.message_failed
        status = "failed" if failed else "printed" if channel == "letter" else "sent"
        message_id = _uuid(rng)
        self.rows.messages.append(
            (
                message_id,
                case.id,
                f"{case.id}:{key}",
                channel,
                channel,
                f"<{message_id}@arrears.invalid>",
                status,
                at,
                None if failed else at,
            )
        )
        self.step(
            case, AuditAction.MESSAGE_DONE, at, key, channel=channel, due=at.date().isoformat(), detail=key
        )
        if failed or channel == "letter" or rng.random() >= odds.delivered:
            return
        template = f"reminder.{case.segment.value}"
        self.rows.engagement.append(
            (_uuid(rng), case.id, message_id, template, "delivered", at + timedelta(seconds=30))
        )
        if rng.random() >= odds.clicked[case.segment]:
            return
        clicked = at + timedelta(minutes=rng.randint(5, 600))
        self.rows.engagement.append((_uuid(rng), case.id, message_id, template, "link_clicked", clicked))
        if rng.random() < odds.viewed_given_clicked:
            self.rows.engagement.append(
                (_uuid(rng), case.id, message_id, template, "page_viewed", clicked + timedelta(seconds=3))
            )
        if paid and rng.random() < 0.5:
            self.rows.engagement.append(
                (
                    _uuid(rng),
                    case.id,
                    message_id,
                    template,
                    "payment_succeeded",
                    clicked + timedelta(minutes=4),
                )
            )
