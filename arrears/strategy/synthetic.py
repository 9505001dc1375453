"""A generated servicing history at the scorecard's grain, with a planted signal.

Each borrower has a hidden willingness to pay; it drives what the history shows (recent
payments, re-defaults, repayment progress) and what happens next (a cure within 60 days, a
roll to the next bucket), through the typed `Behaviour` below. The scorecard must find the
signal again from the visible features; its unit tests train on this table. The default model
is not trained on it but on a generated portfolio's history in PostgreSQL
(`arrears score train --generated`). Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arrears.strategy.features import FEATURES


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the hidden willingness to pay shows, and the log-odds of the outcomes."""

    bucket_shares: tuple[float, ...] = (0.50, 0.25, 0.12, 0.08, 0.05)  # 1-29, 30-59, ... 120+
    payments_rate: float = 1.2  # payments in 90 days for an average borrower
    cure_intercept: float = -0.4
    cure_willingness: float = 1.1
    cure_per_day: float = -0.018
    cure_per_payment: float = 0.35
    cure_per_prior: float = -0.45
    roll_intercept: float = -0.2
    roll_willingness: float = -1.0
    roll_per_day: float = 0.006
    roll_per_payment: float = -0.4
    roll_per_prior: float = 0.35


def history(n: int, *, seed: int = 1, behaviour: Behaviour | None = None) -> pd.DataFrame:
    """`n` observed cases with the scorecard's features and both outcomes."""
    b = behaviour or Behaviour()
    rng = np.random.default_rng(seed)
    will = rng.normal(size=n)
    shares = np.asarray(b.bucket_shares) / sum(b.bucket_shares)
    bucket = rng.choice(len(shares), size=n, p=shares)
    width = np.where(bucket == len(shares) - 1, 90, 30)
    dpd = np.where(bucket == 0, 1, bucket * 30) + rng.integers(0, 29, size=n) % width
    installment = rng.lognormal(mean=6.8, sigma=0.6, size=n)
    months = np.ceil(dpd / 30) + rng.normal(0, 0.15, size=n)
    principal = installment * rng.uniform(60, 300, size=n)
    paid_down = np.clip(rng.beta(2, 3, size=n) + 0.08 * will, 0.0, 0.98)
    balance = principal * (1 - paid_down)
    arrears = installment * np.maximum(months, 0.2)
    payments = rng.poisson(np.exp(np.log(b.payments_rate) + 0.5 * will))
    paid_ratio = payments * rng.uniform(0.4, 1.1, size=n)
    prior = rng.poisson(np.exp(-1.2 - 0.6 * will))
    before = dpd - rng.choice([30, 15, 0, -15], size=n, p=[0.55, 0.2, 0.15, 0.1])
    change = np.where(before >= 0, dpd - np.maximum(before, 0), np.nan)
    cure_z = (
        b.cure_intercept
        + b.cure_willingness * will
        + b.cure_per_day * dpd
        + b.cure_per_payment * payments
        + b.cure_per_prior * prior
    )
    roll_z = (
        b.roll_intercept
        + b.roll_willingness * will
        + b.roll_per_day * dpd
        + b.roll_per_payment * payments
        + b.roll_per_prior * prior
    )
    cure = rng.random(n) < 1 / (1 + np.exp(-cure_z))
    roll = ~cure & (rng.random(n) < 1 / (1 + np.exp(-roll_z)))
    frame = pd.DataFrame(
        {
            "case_id": [f"synthetic-{seed}-{i}" for i in range(n)],
            "days_past_due": dpd.astype(float),
            "months_in_arrears": arrears / installment,
            "arrears_share": arrears / balance,
            "paid_down": paid_down,
            "payments_90d": payments.astype(float),
            "paid_90d_ratio": paid_ratio,
            "prior_cases": prior.astype(float),
            "dpd_change_30d": change,
            "cure": cure.astype(int),
            "roll": roll.astype(int),
        }
    )
    assert list(frame.columns[1:-2]) == [f.name for f in FEATURES]
    return frame
