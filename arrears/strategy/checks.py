"""Every legal-rule check of a simulated strategy, and its KPIs and cost, from the cases' ledgers.

The checks read what the case workflow did (its action records, the messages its sends let
out, its stage changes) against the pack's own rules, never the variant's: a strategy that
weakened one would show it here. Zero violations is the precondition for promoting it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from arrears.strategy.ledger import DEFAULT_COSTS, CaseLedger
from arrears.strategy.simulation import Run
from models.enums import CaseOutcome, CaseStage, Channel, PolicyPack
from policies import Pack, get_pack
from policies.contact import TIMED_CHANNELS
from policies.nl_consumer import NlConsumer, wik_costs
from policies.se_consumer import INKASSOKRAV_FEE, ORDER_FEE, PLAN_FEE, REMINDER_FEE, SeConsumer
from policies.strategy import EARLIEST_REMINDER_DAY

# the most each Swedish fee may be, by the rule it is charged under (lag (1981:739) 4 §)
SE_FEE_CAPS = {
    "se_consumer.fees.reminder": REMINDER_FEE,
    "se_consumer.fees.inkassokrav": INKASSOKRAV_FEE,
    "se_consumer.fees.payment_plan": PLAN_FEE,
    "se_consumer.fees.betalningsforelaggande": ORDER_FEE,
}


@dataclass(slots=True)
class Check:
    """One legal rule, how many times it was checked in the simulation, and every breach."""

    rule: str
    citation: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def see(self, ok: bool, what: str) -> None:
        self.checked += 1
        if not ok:
            self.violations.append(what)


@dataclass(slots=True)
class Outcome:
    """One strategy's simulation, summed up."""

    strategy: str
    cases: int
    days: int
    kpis: dict[str, float]
    cost: dict[str, Decimal]
    checks: list[Check]
    seconds: float

    @property
    def violations(self) -> int:
        return sum(len(c.violations) for c in self.checks)


def _done(ledger: CaseLedger, kind: str) -> Iterable[tuple[str, datetime, Decimal | None, str]]:
    for a in ledger.actions:
        if a.kind == kind and a.status == "done":
            yield a.key, a.at, a.amount, a.rule_id


def _window(pack: Pack, ledger: CaseLedger, check: Check) -> None:
    start, end = pack.contact_window
    zone = ZoneInfo(pack.default_timezone)
    for channel, document, at, _ in ledger.sent:
        if channel in TIMED_CHANNELS:
            hour = at.astimezone(zone).hour
            check.see(
                start <= hour < end, f"{document} by {channel.value} at {at.astimezone(zone):%H:%M} local"
            )


def _caps(pack: Pack, ledger: CaseLedger, check: Check) -> None:
    for channel, (limit, days, _) in pack.frequency_caps.items():
        times = sorted(at for c, _, at, _ in ledger.sent if c is channel)
        for i, at in enumerate(times):
            within = [t for t in times[: i + 1] if at - t < timedelta(days=days)]
            check.see(
                len(within) <= limit, f"{len(within)} {channel.value} within {days} days up to {at:%Y-%m-%d}"
            )


def _earliest(pack: Pack, ledger: CaseLedger, check: Check) -> None:
    first = ledger.delinquent_since + timedelta(days=EARLIEST_REMINDER_DAY)
    for a in ledger.actions:
        if a.rule_id == pack.reminder_rule.id and a.status == "done":
            check.see(a.at.date() >= first, f"{a.key} on {a.at.date()}, before day {EARLIEST_REMINDER_DAY}")


def _holds(ledger: CaseLedger, check: Check) -> None:
    for kind, since in ledger.holds:
        for channel, document, at, collection in ledger.sent:
            if at >= since:
                check.see(
                    not collection, f"{document} by {channel.value if channel else '-'} during a {kind} hold"
                )


def _entered(ledger: CaseLedger, stage: CaseStage) -> datetime | None:
    return next((at for s, at in ledger.stages if s is stage), None)


def _notice(pack: Pack, ledger: CaseLedger, check: Check) -> None:
    """Enforcement only after the formal letter's period, counted under the pack's own rules."""
    enforcement = _entered(ledger, CaseStage.ENFORCEMENT)
    letter = {"nl_consumer": "wik.veertiendagenbrief", "se_consumer": "inkasso.inkassokrav"}.get(
        pack.name.value
    )
    if enforcement is None or letter is None:
        return
    sent = next((at for key, at, _, _ in _done(ledger, "message") if key == letter), None)
    if sent is None:
        check.see(False, f"enforcement on {enforcement.date()} without the {letter}")
        return
    if isinstance(pack, NlConsumer):
        last = pack.letter_deadline(sent.date())
    else:
        assert isinstance(pack, SeConsumer)
        last = sent.date() + timedelta(days=pack.payment_period_days)
    check.see(enforcement.date() > last, f"enforcement on {enforcement.date()}, the period ran to {last}")


def _fees(pack: Pack, ledger: CaseLedger, opening_arrears: Decimal, check: Check) -> None:
    for key, _, amount, rule in _done(ledger, "fee"):
        if amount is None:
            continue
        cap: Decimal | None = SE_FEE_CAPS.get(rule)
        if pack.name is PolicyPack.NL_CONSUMER:
            cap = wik_costs(max(opening_arrears, ledger.arrears))
        if pack.name is PolicyPack.US_MORTGAGE:
            cap = Decimal("0")
        if cap is not None:
            check.see(amount <= cap, f"{key}: {amount} above the cap of {cap}")


def _us(pack: Pack, ledger: CaseLedger, checks: Mapping[str, Check]) -> None:
    for key, at, _, _ in _done(ledger, "enforcement"):
        day = (at.date() - ledger.delinquent_since).days
        checks["foreclosure"].see(day > 120, f"{key} on day {day} of delinquency")
    notice = next(
        (at for key, at, _, _ in _done(ledger, "message") if key == "reg_f.validation_notice"), None
    )
    checks["validation"].see(
        notice is not None and notice.date() <= ledger.opened + timedelta(days=5),
        "no validation notice within 5 days of the first communication",
    )
    due = max(ledger.delinquent_since + timedelta(days=45), ledger.opened + timedelta(days=5))
    horizon = ledger.closed_at.date() if ledger.closed_at else None
    if horizon is not None and horizon > due and (ledger.outcome is None or ledger.open_at_horizon):
        written = [
            at
            for key, at, _, _ in _done(ledger, "message")
            if key.startswith("early_intervention.written_notice")
        ]
        checks["written_notice"].see(any(at.date() <= due for at in written), f"no written notice by {due}")


def _checks(pack: Pack) -> dict[str, Check]:
    checks = {
        "window": Check(pack.contact_window_rule.id, pack.contact_window_rule.citation),
        "caps": Check(
            "contact.frequency_caps",
            "; ".join(sorted({r.citation for _, _, r in pack.frequency_caps.values()})),
        ),
        "earliest": Check(pack.reminder_rule.id, f"{pack.reminder_rule.citation}; no reminder before day 1"),
        "holds": Check("contact.suppression.dispute", "15 U.S.C. 1692g(b); 12 CFR 1006.34(c)(3)"),
        "fees": Check("fees.cap", "the pack's fee caps"),
    }
    if pack.name in (PolicyPack.NL_CONSUMER, PolicyPack.SE_CONSUMER):
        checks["notice"] = Check(
            "notice.period", "NL: art. 6:96 lid 6 BW, HR:2016:2704, Atw; SE: inkassolag 5 §"
        )
    if pack.name is PolicyPack.US_MORTGAGE:
        checks["foreclosure"] = Check("us_mortgage.loss_mitigation.120_day_rule", "12 CFR 1024.41(f)(1)")
        checks["validation"] = Check("us_mortgage.reg_f.validation_notice", "12 CFR 1006.34(a)(1)")
        checks["written_notice"] = Check("us_mortgage.early_intervention.written_notice", "12 CFR 1024.39(b)")
    return checks


def summarise(run: Run, costs: Mapping[str, Decimal] | None = None) -> Outcome:
    """KPIs, cost and every legal check of one strategy's run."""
    unit = {**DEFAULT_COSTS, **(costs or {})}
    pack = get_pack(run.variant.pack)
    checks = _checks(pack)
    cured_days: list[int] = []
    messages: dict[str, int] = {c.value: 0 for c in Channel}
    totals = {
        "cured": 0,
        "enforcement": 0,
        "promises": 0,
        "kept": 0,
        "tasks": 0,
        "fees": 0.0,
        "collected": 0.0,
    }
    for case_id, ledger in run.ledgers.items():
        b = run.borrowers[case_id]
        _window(pack, ledger, checks["window"])
        _caps(pack, ledger, checks["caps"])
        _earliest(pack, ledger, checks["earliest"])
        _holds(ledger, checks["holds"])
        _fees(pack, ledger, b.arrears, checks["fees"])
        if "notice" in checks:
            _notice(pack, ledger, checks["notice"])
        if pack.name is PolicyPack.US_MORTGAGE:
            _us(pack, ledger, checks)
        if (
            ledger.outcome is CaseOutcome.CURED
            and not ledger.open_at_horizon
            and ledger.closed_at is not None
        ):
            totals["cured"] += 1
            cured_days.append((ledger.closed_at.date() - ledger.opened).days)
        totals["enforcement"] += int(_entered(ledger, CaseStage.ENFORCEMENT) is not None)
        totals["promises"] += ledger.promises
        totals["kept"] += ledger.promises_kept
        totals["tasks"] += ledger.tasks
        totals["collected"] += float(ledger.collected)
        totals["fees"] += float(sum(a or 0 for _, _, a, _ in _done(ledger, "fee")))
        for channel, _, _, _ in ledger.sent:
            if channel is not None:
                messages[channel.value] += 1
    n = max(len(run.ledgers), 1)
    cost = {channel: unit.get(channel, Decimal("0")) * count for channel, count in messages.items() if count}
    cost["tasks"] = unit["task"] * int(totals["tasks"])
    cost["total"] = sum(cost.values(), Decimal("0"))
    kpis = {
        "cure_rate": totals["cured"] / n,
        "days_to_cure": statistics.mean(cured_days) if cured_days else 0.0,
        "enforcement_rate": totals["enforcement"] / n,
        "collected": totals["collected"],
        "promises": float(totals["promises"]),
        "promise_kept_rate": totals["kept"] / totals["promises"] if totals["promises"] else 0.0,
        "fees_charged": totals["fees"],
        **{f"messages_{k}": float(v) for k, v in messages.items() if k != "call"},
        "cost_per_collected": float(cost["total"]) / totals["collected"] if totals["collected"] else 0.0,
        "cases_lost_to_server": float(sum(1 for ledger in run.ledgers.values() if ledger.lost)),
    }
    return Outcome(
        run.variant.label, len(run.ledgers), run.days, kpis, cost, list(checks.values()), run.seconds
    )


def violations_by_strategy(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """What promotion asks for: the number of legal violations per strategy label."""
    return {o.strategy: o.violations for o in outcomes}
