"""The KPIs' SQL: one aggregate per source (snapshots, audit trail, cases, messages, payments).

Each statement reads its table once over the months asked for and groups in the database;
Python only divides. Filters are bind parameters behind fixed fragments: a filter left None
costs nothing, because the fragment is left out of the statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, text

from arrears.analytics.types import KpiFilters
from models.engagement import EngagementKind

# a bucket's position in types.BUCKETS (0 current ... 5 120+), in integer arithmetic: cheaper per
# row than a CASE of text, and smaller to group by
BUCKET_SQL = "CASE WHEN {d} <= 0 THEN 0 ELSE least({d} / 30 + 1, 5) END"
EXITED_CODE = 6  # the flow's destination when the loan left the book
# a month as one integer (year * 12 + month): cheaper to compare per row than date_trunc
MONTH_KEY = "(date_part('year', {d}) * 12 + date_part('month', {d}))::int"
# the first day of the month a MONTH_KEY names
KEY_DATE = "make_date(({k} - 1) / 12, ({k} - 1) % 12 + 1, 1)"


# the flows' figures from a CTE `f` (month, origin, dest, balance, arrears, loan_id): loans and
# money per cell, and the cures whose loan is 30+ days past due again within 12 months, each
# looked up in the snapshots' covering index for the cured loans alone
FLOWS_FROM_F = """
SELECT f.month, f.origin, f.dest, count(*) AS loans, sum(f.balance) AS balance, sum(f.arrears) AS arrears,
       count(*) FILTER (WHERE f.origin > 0 AND f.dest = 0 AND EXISTS (
           SELECT 1 FROM delinquency_snapshots b
           WHERE b.loan_id = f.loan_id AND b.days_past_due >= 30 AND b.received_at <= :t AND b.as_of <= :hi
             AND b.as_of >= {after}  -- the months after the cure month
             AND b.as_of < {until}
       )) AS redefaulted
FROM f
GROUP BY 1, 2, 3""".format(after=KEY_DATE.format(k="f.month + 2"), until=KEY_DATE.format(k="f.month + 14"))


def loan_filter(filters: KpiFilters, loan: str) -> str:
    """A WHERE fragment keeping the loans (`loan` names the loan ID column) the filters select."""
    parts = []
    if filters.pack is not None:
        parts.append("l.policy_pack = :pack")
    if filters.product is not None:
        parts.append("l.product = :product")
    if filters.team is not None:
        parts.append("l.team = :team")
    case_parts = _case_parts(filters, "fc")
    if case_parts:
        parts.append(
            f"EXISTS (SELECT 1 FROM cases fc WHERE fc.loan_id = l.id AND {' AND '.join(case_parts)})"
        )
    if not parts:
        return ""
    return f" AND {loan} IN (SELECT l.id FROM loans l WHERE {' AND '.join(parts)})"


def case_filter(filters: KpiFilters, case: str) -> str:
    """A WHERE fragment keeping the cases (`case` names the case ID column) the filters select:
    pack, product and team by the case's loan, segment and strategy arm by the case itself."""
    parts = _case_parts(filters, "c")
    loan_parts = []
    if filters.pack is not None:
        parts.append("c.policy_pack = :pack")
    if filters.product is not None:
        loan_parts.append("l.product = :product")
    if filters.team is not None:
        loan_parts.append("l.team = :team")
    if loan_parts:
        parts.append(f"c.loan_id IN (SELECT l.id FROM loans l WHERE {' AND '.join(loan_parts)})")
    if not parts:
        return ""
    return f" AND {case} IN (SELECT c.id FROM cases c WHERE {' AND '.join(parts)})"


def _case_parts(filters: KpiFilters, alias: str) -> list[str]:
    parts = []
    if filters.segment is not None:
        parts.append(f"{alias}.segment = :segment")
    if filters.strategy_arm is not None:
        parts.append(f"{alias}.strategy_arm = :strategy_arm")
    return parts


def params(filters: KpiFilters, **more: Any) -> dict[str, Any]:
    """Bind parameters: the filters that are set, and `more`."""
    return {**{k: v for k, v in filters.as_dict().items() if v is not None}, **more}


def snapshots(filters: KpiFilters) -> TextClause:
    """Per month, origin bucket and destination: loans, origin balance and arrears, payments on
    them in the month, cures, and cures 30+ days past due again within 12 months.

    One pass in the (loan_id, as_of) order of the covering index, so no sort: a loan's
    month-end is its last snapshot of the month (no later one in the same month, by lead); each
    month-end is the origin of one flow, into the next month-end's bucket, or 'exited' when the
    next month has none (the caller keeps the months asked for, and drops exits after the last
    month the loan system reported: a filter here would cost the planner its row estimate).
    A cure's re-default is looked up in the index for the cured loans alone.
    """
    origin, dest = BUCKET_SQL.format(d="e.dpd"), BUCKET_SQL.format(d="e.next_dpd")
    return text(
        f"""
WITH s AS (
    SELECT loan_id, as_of, dpd, arrears, balance, month,
           lead(month) OVER (PARTITION BY loan_id ORDER BY as_of) AS later
    FROM (
        SELECT s.loan_id, s.as_of, s.days_past_due AS dpd, s.arrears, s.balance,
               {MONTH_KEY.format(d="s.as_of")} AS month  -- once per row, then carried by the windows
        FROM delinquency_snapshots s
        WHERE s.as_of >= :lo AND s.as_of <= :hi AND s.received_at <= :t{loan_filter(filters, "s.loan_id")}
    ) s
), e AS (
    SELECT loan_id, as_of, dpd, arrears, balance, month,
           lead(month) OVER w AS next_month, lead(dpd) OVER w AS next_dpd
    FROM s
    WHERE later IS NULL OR later > month  -- the month's last snapshot
    WINDOW w AS (PARTITION BY loan_id ORDER BY as_of)
), f AS (
    SELECT month, {origin} AS origin,
           CASE WHEN next_month = month + 1 THEN {dest} ELSE {EXITED_CODE} END AS dest,
           balance, arrears, loan_id
    FROM e
)
{FLOWS_FROM_F}
"""
    )


def month_ends(filters: KpiFilters) -> TextClause:
    """What `snapshots` answers, from loan_month_ends: the database keeps each loan's last
    snapshot of each month there with the next month's days past due, so the flows are one
    grouped scan (in parallel where the planner chooses) instead of two window passes. It holds
    what is known now: the caller asks it only when none of its rows arrived after `:t` and the
    range ends on a month's last day (`answers_for`)."""
    origin, dest = BUCKET_SQL.format(d="e.days_past_due"), BUCKET_SQL.format(d="e.next_days_past_due")
    return text(
        f"""
WITH f AS (
    SELECT {MONTH_KEY.format(d="e.month")} AS month, {origin} AS origin,
           CASE WHEN e.next_days_past_due IS NULL THEN {EXITED_CODE} ELSE {dest} END AS dest,
           e.balance, e.arrears, e.loan_id
    FROM loan_month_ends e
    WHERE e.month >= :lo AND e.month <= :hi{loan_filter(filters, "e.loan_id")}
)
{FLOWS_FROM_F}
"""
    )


def month_ends_newest() -> TextClause:
    """When the newest month's end loan_month_ends holds arrived (from its index)."""
    return text("SELECT max(received_at) FROM loan_month_ends")


def delinquent_paid(filters: KpiFilters) -> TextClause:
    """Per month: payments received on loans whose last snapshot of the month before was 1 or
    more days past due (the liquidation rate's numerator), each looked up in the covering index."""
    return text(
        f"""
SELECT date_trunc('month', p.received_at AT TIME ZONE 'UTC')::date AS period, sum(p.amount) AS amount
FROM payments p
WHERE p.received_at >= :start_at AND p.received_at <= :t{loan_filter(filters, "p.loan_id")}
  AND (SELECT s.days_past_due FROM delinquency_snapshots s
       WHERE s.loan_id = p.loan_id AND s.received_at <= :t
         AND s.as_of < date_trunc('month', p.received_at AT TIME ZONE 'UTC')::date
         AND s.as_of >= date_trunc('month', p.received_at AT TIME ZONE 'UTC')::date - INTERVAL '1 month'
       ORDER BY s.as_of DESC LIMIT 1) > 0
GROUP BY 1
"""
    )


def last_reported() -> TextClause:
    """The first day of the last month with a snapshot (by the date index)."""
    return text(
        "SELECT date_trunc('month', max(as_of))::date FROM delinquency_snapshots "
        "WHERE as_of <= :hi AND received_at <= :t"
    )


def activity(filters: KpiFilters) -> TextClause:
    """Per month, from the audit trail: contact attempts and outcomes, promises made, kept and
    broken, and entries into loss mitigation."""
    return text(
        f"""
SELECT date_trunc('month', e.occurred_at AT TIME ZONE 'UTC')::date AS period,
       count(*) FILTER (WHERE e.action = 'contact.done') AS attempts,
       count(*) FILTER (WHERE e.action = 'contact.done'
                          AND e.payload->>'detail' LIKE '%: reached;%') AS reached,
       count(*) FILTER (WHERE e.action = 'contact.done'
                          AND e.payload->>'detail' LIKE '%: wrong_number;%') AS wrong_party,
       count(*) FILTER (WHERE e.action = 'promise.done'
                          AND e.payload->>'key' LIKE 'promise.%.recorded') AS promises,
       count(*) FILTER (WHERE e.action = 'promise.done' AND e.payload->>'key' NOT LIKE 'promise.%.recorded'
                          AND e.payload->>'detail' LIKE 'kept:%') AS kept,
       count(*) FILTER (WHERE e.action = 'promise.done' AND e.payload->>'key' NOT LIKE 'promise.%.recorded'
                          AND e.payload->>'detail' LIKE 'broken:%') AS broken
FROM audit_events e
WHERE e.occurred_at >= :start_at AND e.occurred_at <= :t
  AND e.action IN ('contact.done', 'promise.done'){case_filter(filters, "e.case_id")}
GROUP BY 1
"""
    )


def pull_through(filters: KpiFilters) -> TextClause:
    """Per month: cases entering loss mitigation, and those of them closed modified or settled."""
    return text(
        f"""
SELECT date_trunc('month', e.occurred_at AT TIME ZONE 'UTC')::date AS period,
       count(DISTINCT e.case_id) AS entered,
       count(DISTINCT e.case_id) FILTER (WHERE c.outcome IN ('modified', 'settled')
                                           AND c.closed_at <= :t) AS alternatives
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.action = 'case.stage_changed' AND e.payload->>'stage' = 'loss_mitigation'
  AND e.occurred_at >= :start_at AND e.occurred_at <= :t{case_filter(filters, "e.case_id")}
GROUP BY 1
"""
    )


def days_to_cure(filters: KpiFilters) -> TextClause:
    """Per month: cases closed cured, and their days from the oldest unpaid instalment at opening."""
    return text(
        f"""
SELECT date_trunc('month', c.closed_at AT TIME ZONE 'UTC')::date AS period, count(*) AS cured,
       sum((c.closed_at AT TIME ZONE 'UTC')::date - (c.opened_as_of - c.days_past_due_at_open)) AS days
FROM cases c
WHERE c.outcome = 'cured' AND c.closed_at >= :start_at AND c.closed_at <= :t{case_filter(filters, "c.id")}
GROUP BY 1
"""
    )


def timeliness(filters: KpiFilters) -> TextClause:
    """Per month of the due day and deadline: Reg X deadlines due, met and still pending.

    Acknowledgments are the acknowledgment letters' records (their due day and when they went
    out); evaluations are evaluation tasks, met when decided (task.done) by their due day."""
    f = case_filter(filters, "e.case_id")
    return text(
        f"""
WITH ack AS (
    SELECT (e.payload->>'due')::date AS due, (e.occurred_at AT TIME ZONE 'UTC')::date AS done
    FROM audit_events e
    WHERE e.action = 'message.done' AND e.payload->>'key' LIKE :ack_like
      AND e.occurred_at >= :start_at - INTERVAL '31 days' AND e.occurred_at <= :t{f}
), created AS (
    SELECT DISTINCT ON (e.case_id, e.payload->>'task') e.case_id, e.payload->>'task' AS task,
           (e.payload->>'due')::date AS due
    FROM audit_events e
    WHERE e.action = 'task.created' AND e.payload->>'kind' = 'evaluation'
      AND e.occurred_at >= :start_at - INTERVAL '62 days' AND e.occurred_at <= :t{f}
    ORDER BY e.case_id, e.payload->>'task', e.occurred_at
), decided AS (
    SELECT e.case_id, e.payload->>'task' AS task, min(e.occurred_at AT TIME ZONE 'UTC')::date AS done
    FROM audit_events e
    WHERE e.action = 'task.done' AND e.payload->>'task' LIKE 'loss_mitigation.%'
      AND e.occurred_at >= :start_at - INTERVAL '62 days' AND e.occurred_at <= :t{f}
    GROUP BY 1, 2
), deadlines AS (
    SELECT 'acknowledgment' AS series, due, done FROM ack
    UNION ALL
    SELECT 'evaluation', created.due, decided.done
    FROM created LEFT JOIN decided ON decided.case_id = created.case_id AND decided.task = created.task
)
SELECT series, date_trunc('month', due)::date AS period,
       count(*) FILTER (WHERE done IS NOT NULL OR due < :end_day) AS decided,
       count(*) FILTER (WHERE done IS NOT NULL AND done <= due) AS met
FROM deadlines
WHERE due >= :start AND due <= :end_day
GROUP BY 1, 2
"""
    )


# the engagement events the funnel counts (enum values, never input)
FUNNEL_KINDS = ", ".join(
    f"'{k.value}'"
    for k in (
        EngagementKind.DELIVERED,
        EngagementKind.PAGE_VIEWED,
        EngagementKind.LINK_CLICKED,
        EngagementKind.PAYMENT_SUCCEEDED,
    )
)


def funnel_engaged(filters: KpiFilters) -> TextClause:
    """Per month of creation: messages sent, and per engagement kind the messages with at least
    one event of it (a hash join of the events to their messages, counted once per message)."""
    f = case_filter(filters, "m.case_id")
    return text(
        f"""
SELECT date_trunc('month', m.created_at AT TIME ZONE 'UTC')::date AS period, 'sent' AS stage,
       count(*) FILTER (WHERE m.status IN ('sent', 'printed')) AS n
FROM messages m
WHERE m.created_at >= :start_at AND m.created_at <= :t{f}
GROUP BY 1
UNION ALL
SELECT date_trunc('month', m.created_at AT TIME ZONE 'UTC')::date, g.kind, count(DISTINCT g.message_id)
FROM engagement_events g JOIN messages m ON m.id = g.message_id
WHERE g.kind IN ({FUNNEL_KINDS})
  AND g.occurred_at >= :start_at AND g.occurred_at <= :t
  AND m.created_at >= :start_at AND m.created_at <= :t{f}
GROUP BY 1, 2
"""
    )


def funnel(filters: KpiFilters, *, engagement: bool) -> TextClause:
    """Per month of creation: messages, and how many were sent, delivered, opened, clicked, paid.

    With engagement events, each stage is a message with an event of that kind; without them,
    delivered is sent and paid is a payment on the case within 14 days of the message."""
    f = case_filter(filters, "m.case_id")
    source, stages = _funnel_stages(engagement=engagement)
    return text(
        f"""
SELECT date_trunc('month', m.created_at AT TIME ZONE 'UTC')::date AS period, m.channel, count(*) AS messages,
       count(*) FILTER (WHERE m.status IN ('sent', 'printed')) AS sent,
       {stages}
FROM messages m{source}
WHERE m.created_at >= :start_at AND m.created_at <= :t{f}
GROUP BY 1, 2
"""
    )


def funnel_by_template(filters: KpiFilters, *, engagement: bool) -> TextClause:
    """Per template of the message's document ("" without one), over the messages created in the
    range: how many were sent, delivered, opened, clicked and paid, counted as `funnel` counts."""
    f = case_filter(filters, "m.case_id")
    source, stages = _funnel_stages(engagement=engagement)
    return text(
        f"""
SELECT coalesce(doc.template, '') AS template,
       count(*) FILTER (WHERE m.status IN ('sent', 'printed')) AS sent,
       {stages}
FROM messages m LEFT JOIN documents doc ON doc.id = m.document_id{source}
WHERE m.created_at >= :start_at AND m.created_at <= :t{f}
GROUP BY 1
ORDER BY 1
"""
    )


def _funnel_stages(*, engagement: bool) -> tuple[str, str]:
    """The join that records each message's stages, and the counts of them (see `funnel`)."""
    if engagement:
        source = """
LEFT JOIN (
    SELECT g.message_id, bool_or(g.kind = 'delivered') AS delivered,
           bool_or(g.kind = 'page_viewed') AS opened,
           bool_or(g.kind = 'link_clicked') AS clicked, bool_or(g.kind = 'payment_succeeded') AS paid
    FROM engagement_events g
    WHERE g.message_id IS NOT NULL AND g.occurred_at >= :start_at AND g.occurred_at <= :t
    GROUP BY g.message_id
) x ON x.message_id = m.id"""
        stages = """count(*) FILTER (WHERE x.delivered) AS delivered,
       count(*) FILTER (WHERE x.opened) AS opened,
       count(*) FILTER (WHERE x.clicked) AS clicked, count(*) FILTER (WHERE x.paid) AS paid"""
    else:
        source = """
LEFT JOIN LATERAL (
    SELECT true AS paid FROM payments p
    WHERE p.case_id = m.case_id AND p.received_at >= m.created_at
      AND p.received_at < m.created_at + INTERVAL '14 days' AND p.received_at <= :t
    LIMIT 1
) x ON true"""
        stages = """count(*) FILTER (WHERE m.status IN ('sent', 'printed')) AS delivered, 0 AS opened,
       0 AS clicked, count(*) FILTER (WHERE x.paid AND m.status IN ('sent', 'printed')) AS paid"""
    return source, stages


def recoveries(filters: KpiFilters) -> TextClause:
    """Per month: payments after a charge-off or settlement closed the case; and per month of
    closure, the balance such loans carried on their last snapshot before it."""
    f = case_filter(filters, "c.id")
    return text(
        f"""
SELECT 'paid' AS what, date_trunc('month', p.received_at AT TIME ZONE 'UTC')::date AS period,
       sum(p.amount) AS amount
FROM payments p JOIN cases c ON c.id = p.case_id
WHERE c.outcome IN ('charged_off', 'settled') AND p.received_at > c.closed_at
  AND p.received_at >= :start_at AND p.received_at <= :t{f}
GROUP BY 1, 2
UNION ALL
SELECT 'closed', date_trunc('month', c.closed_at AT TIME ZONE 'UTC')::date, sum(s.balance)
FROM cases c
CROSS JOIN LATERAL (
    SELECT s.balance FROM delinquency_snapshots s
    WHERE s.loan_id = c.loan_id AND s.as_of <= (c.closed_at AT TIME ZONE 'UTC')::date
    ORDER BY s.as_of DESC LIMIT 1
) s
WHERE c.outcome IN ('charged_off', 'settled') AND c.closed_at <= :t{f}
GROUP BY 1, 2
"""
    )


def collected(filters: KpiFilters) -> TextClause:
    """Per month and pack: payments received on loans with a case, and calls recorded."""
    return text(
        f"""
SELECT 'paid' AS what, date_trunc('month', p.received_at AT TIME ZONE 'UTC')::date AS period,
       c.policy_pack AS pack, sum(p.amount) AS amount
FROM payments p JOIN cases c ON c.id = p.case_id
WHERE p.received_at >= :start_at AND p.received_at <= :t{case_filter(filters, "c.id")}
GROUP BY 1, 2, 3
UNION ALL
SELECT 'call', date_trunc('month', e.occurred_at AT TIME ZONE 'UTC')::date, c.policy_pack, count(*)
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.action = 'contact.done'
  AND (e.payload->>'detail' LIKE 'call:%' OR e.payload->>'detail' LIKE '% call at %')
  AND e.occurred_at >= :start_at AND e.occurred_at <= :t{case_filter(filters, "c.id")}
GROUP BY 1, 2, 3
UNION ALL
SELECT m.channel, date_trunc('month', m.created_at AT TIME ZONE 'UTC')::date, c.policy_pack, count(*)
FROM messages m JOIN cases c ON c.id = m.case_id
WHERE m.status IN ('sent', 'printed')
  AND m.created_at >= :start_at AND m.created_at <= :t{case_filter(filters, "c.id")}
GROUP BY 1, 2, 3
"""
    )
