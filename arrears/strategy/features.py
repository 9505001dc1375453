"""What the scorecard reads: its features (each with why it is allowed), its targets, and the
frames built from the servicer's history (snapshots, payments, case outcomes) in PostgreSQL.

A case is observed on the day its report opened it: the features are what was known that day,
the targets what happened next. Open cases are scored on today's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

CURE_WINDOW_DAYS = 60
ROLL_WINDOW_DAYS = 30
BUCKET_DAYS = 30


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    meaning: str
    why: str


FEATURES = (
    Feature(
        "days_past_due",
        "days since the oldest unpaid instalment fell due.",
        "the delinquency itself; a fact of the loan's payments, not of the person.",
    ),
    Feature(
        "months_in_arrears",
        "arrears divided by the periodic instalment.",
        "how far behind the loan is, in its own instalments; independent of the loan's size.",
    ),
    Feature(
        "arrears_share",
        "arrears divided by the outstanding balance.",
        "the weight of the missed amount against the debt; a loan fact.",
    ),
    Feature(
        "paid_down",
        "share of the original principal repaid (1 - balance / principal).",
        "the loan's repayment history; it says nothing of who the borrower is.",
    ),
    Feature(
        "payments_90d",
        "payments received on the loan in the 90 days before the observation.",
        "recent payment behaviour on this debt.",
    ),
    Feature(
        "paid_90d_ratio",
        "the amount paid in those 90 days divided by the instalment.",
        "recent payment behaviour on this debt, by amount.",
    ),
    Feature(
        "prior_cases",
        "earlier delinquency cases on the same loan.",
        "re-default history of this debt.",
    ),
    Feature(
        "dpd_change_30d",
        "days past due now minus days past due in the loan's report about 30 days before"
        " (empty when there was none).",
        "the direction the delinquency is moving in; a loan fact.",
    ),
)
TARGETS = ("cure", "roll")  # cured within 60 days; rolled to the next 30-day bucket within 30 days
# Left out on purpose, with why (the model card repeats this):
EXCLUDED = {
    "borrower name, e-mail, phone, address, postcode": "identify the person or where they live",
    "language, time zone, country, policy pack, currency, team": "proxies of origin and location",
    "product": "products differ by jurisdiction: a proxy of location",
    "age, date of birth, sex, marital status": "protected attributes",
}


def bucket(days_past_due: int) -> int:
    """The 30-day bucket: 0 current, 1 for 1-29, 2 for 30-59, ... 5 for 120+."""
    if days_past_due <= 0:
        return 0
    return min(days_past_due // BUCKET_DAYS + 1, 5)


_HISTORY = text(
    """
    WITH obs AS (
      SELECT c.id AS case_id, c.loan_id, c.opened_as_of AS as_of, c.days_past_due_at_open AS dpd,
             c.arrears AS case_arrears, c.status, c.outcome, c.closed_at,
             l.installment, l.principal, s.arrears AS arrears, s.balance AS balance
      FROM cases c
      JOIN loans l ON l.id = c.loan_id
      LEFT JOIN delinquency_snapshots s ON s.loan_id = c.loan_id AND s.as_of = c.opened_as_of
      WHERE c.opened_as_of <= :until
    )
    SELECT o.case_id, o.as_of, o.dpd AS days_past_due,
           COALESCE(o.arrears, o.case_arrears) AS arrears, COALESCE(o.balance, 0) AS balance,
           o.installment, o.principal, o.status, o.outcome, o.closed_at,
           (SELECT count(*) FROM payments p WHERE p.loan_id = o.loan_id
              AND p.received_at >= o.as_of - 90 AND p.received_at < o.as_of) AS payments_90d,
           (SELECT COALESCE(sum(p.amount), 0) FROM payments p WHERE p.loan_id = o.loan_id
              AND p.received_at >= o.as_of - 90 AND p.received_at < o.as_of) AS paid_90d,
           (SELECT count(*) FROM cases c2 WHERE c2.loan_id = o.loan_id
              AND c2.opened_as_of < o.as_of) AS prior_cases,
           (SELECT s2.days_past_due FROM delinquency_snapshots s2 WHERE s2.loan_id = o.loan_id
              AND s2.as_of BETWEEN o.as_of - 45 AND o.as_of - 15
              ORDER BY s2.as_of DESC LIMIT 1) AS dpd_before,
           (SELECT s3.days_past_due FROM delinquency_snapshots s3 WHERE s3.loan_id = o.loan_id
              AND s3.as_of BETWEEN o.as_of + 25 AND o.as_of + 45
              ORDER BY s3.as_of LIMIT 1) AS dpd_after,
           (SELECT COALESCE(sum(p.amount), 0) FROM payments p WHERE p.loan_id = o.loan_id
              AND p.received_at >= o.as_of AND p.received_at < o.as_of + 30) AS paid_next_30d
    FROM obs o
    ORDER BY o.as_of, o.case_id
    """
)

_OPEN = text(
    """
    SELECT c.id AS case_id, current_date AS as_of,
           CASE WHEN c.arrears > 0 THEN current_date - c.delinquent_since ELSE 0 END AS days_past_due,
           c.arrears, l.balance, l.installment, l.principal,
           (SELECT count(*) FROM payments p WHERE p.loan_id = c.loan_id
              AND p.received_at >= current_date - 90) AS payments_90d,
           (SELECT COALESCE(sum(p.amount), 0) FROM payments p WHERE p.loan_id = c.loan_id
              AND p.received_at >= current_date - 90) AS paid_90d,
           (SELECT count(*) FROM cases c2 WHERE c2.loan_id = c.loan_id
              AND c2.opened_as_of < c.opened_as_of) AS prior_cases,
           (SELECT s2.days_past_due FROM delinquency_snapshots s2 WHERE s2.loan_id = c.loan_id
              AND s2.as_of BETWEEN current_date - 45 AND current_date - 15
              ORDER BY s2.as_of DESC LIMIT 1) AS dpd_before
    FROM cases c JOIN loans l ON l.id = c.loan_id
    WHERE c.status = 'open'
    """
)


def _features(raw: pd.DataFrame) -> pd.DataFrame:
    num = raw.astype(
        {
            c: float
            for c in ("arrears", "balance", "installment", "principal", "paid_90d", "days_past_due")
            if c in raw
        }
    )
    inst = num["installment"].where(num["installment"] > 0)
    out = pd.DataFrame(index=raw.index)
    out["case_id"] = raw["case_id"].astype(str)
    out["days_past_due"] = num["days_past_due"]
    out["months_in_arrears"] = num["arrears"] / inst
    out["arrears_share"] = num["arrears"] / num["balance"].where(num["balance"] > 0)
    out["paid_down"] = 1 - num["balance"] / num["principal"].where(num["principal"] > 0)
    out["payments_90d"] = raw["payments_90d"].astype(float)
    out["paid_90d_ratio"] = num["paid_90d"] / inst
    out["prior_cases"] = raw["prior_cases"].astype(float)
    out["dpd_change_30d"] = num["days_past_due"] - pd.to_numeric(raw["dpd_before"], errors="coerce")
    return out


async def history_frame(session: AsyncSession, *, until: date) -> pd.DataFrame:
    """One row per case observed at least 60 days before `until`: features and outcomes, in a
    fixed order (day observed, case), so the held-out split is the same for the same history."""
    last = until - timedelta(days=CURE_WINDOW_DAYS)
    rows = (await session.execute(_HISTORY, {"until": last})).mappings().all()
    raw = pd.DataFrame([dict(r) for r in rows])
    if raw.empty:
        return pd.DataFrame(columns=["case_id", *(f.name for f in FEATURES), *TARGETS])
    frame = _features(raw)
    as_of = pd.to_datetime(raw["as_of"]).dt.date
    closed = pd.to_datetime(raw["closed_at"], utc=True).dt.date
    days_to_close = [None if pd.isna(c) else (c - a).days for c, a in zip(closed, as_of, strict=True)]
    frame["cure"] = [
        int(o == "cured" and d is not None and d <= CURE_WINDOW_DAYS)
        for o, d in zip(raw["outcome"], days_to_close, strict=True)
    ]
    rolled = []
    for dpd, after, d, paid, inst in zip(
        raw["days_past_due"],
        raw["dpd_after"],
        days_to_close,
        raw["paid_next_30d"],
        raw["installment"],
        strict=True,
    ):
        if after is not None and not pd.isna(after):
            rolled.append(int(bucket(int(after)) > bucket(int(dpd))))
        elif d is not None and d <= ROLL_WINDOW_DAYS:
            rolled.append(0)  # closed (cured, paid off) before the month was out
        else:
            rolled.append(int(float(paid) < float(inst)))  # a month passed without an instalment's pay
    frame["roll"] = rolled
    return frame


async def open_frame(session: AsyncSession) -> pd.DataFrame:
    """Today's features of every open case."""
    rows = (await session.execute(_OPEN)).mappings().all()
    raw = pd.DataFrame([dict(r) for r in rows])
    if raw.empty:
        return pd.DataFrame(columns=["case_id", *(f.name for f in FEATURES)])
    return _features(raw)
