"""The synthetic portfolio: loans across every pack, simulated month by month from a seed.

Each loan walks the behaviour model's roll matrix (arrears.analytics.behaviour) from month
to month: its number of missed instalments sets its bucket at each month's end. A loan that
falls behind gets a case, as intake opens one; payments move it back (a payment that brings
arrears to zero cures it); its case calls, sends reminders, takes promises, applies for loss
mitigation and is closed by cure, modification, settlement, charge-off or foreclosure. Every
month's end gets a delinquency snapshot, as the loan system would report it.

The simulation is pure: `simulate_loan` returns the rows one loan writes, and a loan's rows
depend only on the seed, its number and the end date, so any slice of a portfolio is the same
whichever way it is generated. arrears.analytics.loader writes them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from arrears.analytics.behaviour import BehaviourModel
from arrears.analytics.casework import CaseWork
from arrears.analytics.history import (
    CENT,
    SOURCE,
    Rows,
    _bucket_k,
    _Case,
    _dpd,
    _pick,
    _uuid,
    month_ends,
)
from arrears.analytics.types import EXITED, Bucket, next_month
from models.enums import CaseOutcome, CaseStage, PolicyPack
from policies import get_pack

_TERMS: dict[PolicyPack, tuple[tuple[str, ...], int, int, str]] = {
    # products, principal range (whole units), timezone
    PolicyPack.US_MORTGAGE: (("mortgage_30y", "heloc"), 80_000, 600_000, "America/New_York"),
    PolicyPack.NL_CONSUMER: (("personal_loan", "revolving_credit"), 2_000, 40_000, "Europe/Amsterdam"),
    PolicyPack.SE_CONSUMER: (("consumer_credit",), 20_000, 350_000, "Europe/Stockholm"),
    PolicyPack.BE_CONSUMER: (
        ("personal_loan", "energy_invoice", "telecom_invoice"),
        1_000,
        30_000,
        "Europe/Brussels",
    ),
}
_TERM_MONTHS = {PolicyPack.US_MORTGAGE: 360}
_EXIT_OUTCOMES = {
    PolicyPack.US_MORTGAGE: (
        (CaseOutcome.FORECLOSED, 0.5),
        (CaseOutcome.SETTLED, 0.2),
        (CaseOutcome.CHARGED_OFF, 0.3),
    )
}
_CONSUMER_EXITS = ((CaseOutcome.CHARGED_OFF, 0.7), (CaseOutcome.SETTLED, 0.3))


class _Loan(CaseWork):
    """One loan's simulation; `run` fills the Rows."""

    def __init__(self, seed: int, number: int, ends: list[date], model: BehaviourModel) -> None:
        self.rng = random.Random(seed * 1_000_003 + number)
        self.number = number
        self.seed = seed
        self.ends = ends
        self.model = model
        self.rows = Rows()

    def run(self) -> Rows:
        rng, model = self.rng, self.model
        self.pack = pack = _pick(rng, model.pack_mix)
        products, lo, hi, tz = _TERMS[pack]
        the_pack = get_pack(pack)
        self.segment = segment = _pick(rng, model.segment_mix)
        # an experiment randomises loans, not cases: every case of the loan is in the same arm
        self.arm = model.arms[rng.randrange(len(model.arms))] if model.arms else None
        product = products[rng.randrange(len(products))]
        principal = Decimal(rng.randint(lo, hi))
        months = _TERM_MONTHS.get(pack, rng.choice((24, 36, 48, 60)))
        installment = (principal / months * Decimal("1.004")).quantize(CENT)
        balance = (principal * Decimal(rng.uniform(*model.owed_share(segment)))).quantize(CENT)
        due_day = rng.randint(1, 28)
        self.loan_id = _uuid(rng)
        borrower_id = _uuid(rng)
        ext = f"SIM{self.seed}-{self.number:07d}"
        team = "collections-" + pack.value.split("_")[0]
        k = _bucket_k(_pick(rng, model.initial_buckets), 0)
        if k >= 5:
            k = 5 + rng.randint(0, 3)
        case: _Case | None = None
        closed: _Case | None = None  # the case closed by charge-off or settlement: recoveries
        closed_balance = Decimal(0)
        last_k, last_end, exited = k, self.ends[0], False
        for month, end in enumerate(self.ends):
            if month > 0:
                if exited:
                    if closed is not None and rng.random() < model.outcomes.recovery_per_month:
                        self.recovery(closed, month, closed_balance)
                    continue
                matrix = model.matrix(segment, case.arm if case else None)
                origin = Bucket.of(_dpd(k, end, due_day))
                to = _pick(rng, matrix[origin])
                if to == EXITED:
                    exited = True
                    if case is not None:
                        outcome = _pick(rng, _EXIT_OUTCOMES.get(pack, _CONSUMER_EXITS))
                        self.close(case, self.moment(month), outcome)
                        if outcome in (CaseOutcome.CHARGED_OFF, CaseOutcome.SETTLED):
                            closed, closed_balance = case, balance
                        case = None
                    continue
                new_k = 0 if to == "current" else _bucket_k(Bucket(to), k)
                if case is not None:
                    self.work(case, month, k, new_k, installment, the_pack)
                paid_k = k + 1 - new_k  # instalments paid this month (this month's included)
                if paid_k > 0:
                    balance = max(Decimal("0.00"), balance - installment * min(paid_k, 1))
                if case is not None and paid_k > 0 and k > 0:
                    self.pay(case, month, installment * paid_k, installment * new_k, new_k, due_day, end)
                    if new_k == 0:
                        outcome = CaseOutcome.CURED
                        if (
                            case.stage is CaseStage.LOSS_MITIGATION
                            and rng.random() < model.outcomes.modified_given_cure_in_loss_mitigation
                        ):
                            outcome = CaseOutcome.MODIFIED
                        self.close(case, self.pay_at, outcome)
                        case = None
                k = new_k
            dpd = _dpd(k, end, due_day)
            arrears = installment * k
            received = self.at(end, 1_800)
            self.rows.snapshots.append(
                (
                    _uuid(rng),
                    self.loan_id,
                    end,
                    dpd,
                    arrears,
                    max(balance, arrears),
                    the_pack.currency,
                    SOURCE,
                    received,
                )
            )
            if month == 0:
                self.rows.intake_rows.append(
                    {
                        "loan_id": ext,
                        "borrower_id": f"SIM{self.seed}-B{self.number:07d}",
                        "borrower_name": f"Synthetic Borrower {self.number}",
                        "email": f"sim{self.seed}.{self.number}@example.org",
                        "timezone": tz,
                        "language": the_pack.languages[0],
                        "policy_pack": pack.value,
                        "product": product,
                        "currency": the_pack.currency,
                        "principal": str(principal),
                        "balance": str(max(balance, arrears)),
                        "arrears": str(arrears),
                        "installment": str(installment),
                        "due_day": due_day,
                        "next_due_date": next_month(end).replace(day=due_day).isoformat(),
                        "days_past_due": dpd,
                        "as_of": end.isoformat(),
                        "team": team,
                    }
                )
            if case is None and k > 0:
                case = self.open(end, dpd, received + timedelta(seconds=1), the_pack, arrears)
            if case is not None:
                case.arrears, case.since = arrears, end - timedelta(days=dpd)
                stage = the_pack.initial_stage(dpd) if dpd < 120 else CaseStage.ENFORCEMENT
                if stage is CaseStage.ENFORCEMENT and case.stage is not CaseStage.ENFORCEMENT:
                    self.stage(case, received + timedelta(seconds=2), stage, dpd)
            last_k, last_end = k, end
        last = self.ends[-1]
        self.rows.borrowers.append(
            (
                borrower_id,
                f"SIM{self.seed}-B{self.number:07d}",
                f"Synthetic Borrower {self.number}",
                f"sim{self.seed}.{self.number}@example.org",
                tz,
                the_pack.languages[0],
            )
        )
        self.rows.loans.append(
            (
                self.loan_id,
                ext,
                borrower_id,
                pack.value,
                product,
                the_pack.currency,
                principal,
                max(balance, installment * last_k),
                installment * last_k if not exited else Decimal("0.00"),
                installment,
                due_day,
                next_month(last).replace(day=due_day),
                _dpd(last_k, last_end, due_day) if not exited else 0,
                last_end - timedelta(days=_dpd(last_k, last_end, due_day)) if last_k and not exited else None,
                team,
            )
        )
        if case is not None:
            self.case_row(case, ext, pack)
        return self.rows


def simulate_loan(*, seed: int, number: int, ends: list[date], model: BehaviourModel) -> Rows:
    """Every row one loan of the portfolio writes: the same for the same seed, number and ends."""
    return _Loan(seed, number, ends, model).run()


def simulate(*, seed: int, first: int, count: int, ends: list[date], model: BehaviourModel) -> Rows:
    """The rows of loans number `first` .. `first + count - 1`."""
    rows = Rows()
    for number in range(first, first + count):
        rows.extend(simulate_loan(seed=seed, number=number, ends=ends, model=model))
    return rows


__all__ = ["Rows", "month_ends", "simulate", "simulate_loan"]
