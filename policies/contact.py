"""Contact rules checked before every send: holds, the local-time window, frequency caps; and
before every call staff place: the call frequency per debt (US: Reg F, 12 CFR 1006.14(b)).

Pure and deterministic: the caller passes the moment of the send and what was already sent,
so the same check runs in the delivery activity, the case workflow and in tests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.enums import CallDirection, Channel
from policies.base import Pack, Rule

# Channels that reach a person at a moment; a letter is read whenever it is opened.
TIMED_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS, Channel.CALL})
# The rules under which a hold is set on a case (the case workflow records its steps under them).
HOLD_RULES = {
    "dispute": Rule("hold.dispute", "12 CFR 1006.34(c)(3); 15 U.S.C. 1692g(b)"),
    "cease": Rule("hold.cease_communication", "12 CFR 1006.6(c); 15 U.S.C. 1692c(c)"),
    "scra": Rule("hold.scra", "50 U.S.C. 3953(c)"),
}
# The rules under which a send is refused while a hold lasts.
SUPPRESSION_RULES = {
    "stay": Rule("contact.suppression.bankruptcy_stay", "11 U.S.C. 362(a)(6)"),
    "cease": Rule("contact.suppression.cease_communication", "15 U.S.C. 1692c(c); 12 CFR 1006.6(c)"),
    "dispute": Rule("contact.suppression.dispute", "15 U.S.C. 1692g(b); 12 CFR 1006.34(c)(3)"),
}


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """Whether a send may go now; if not, under which rule, why, and when it may try again."""

    allowed: bool
    rule: Rule | None = None
    reason: str = ""
    retry_at: datetime | None = None  # None with allowed=False: never, while the hold lasts


ALLOWED = ContactDecision(True)


def check(
    pack: Pack,
    *,
    channel: Channel,
    at: datetime,
    timezone: str,
    sent: Sequence[datetime] = (),
    holds: Collection[str] = (),
) -> ContactDecision:
    """May a message go to this borrower on `channel` at `at` (aware), given `sent` on that channel?"""
    for kind in ("stay", "cease", "dispute"):
        if kind in holds:
            return ContactDecision(
                False, SUPPRESSION_RULES[kind], f"{kind} hold: no {channel.value} may go out"
            )
    if channel in TIMED_CHANNELS:
        start, end = pack.contact_window
        local = at.astimezone(ZoneInfo(timezone))
        if not start <= local.hour < end:
            opens = datetime.combine(local.date(), time(start), local.tzinfo)
            if local.hour >= end:
                opens += timedelta(days=1)
            return ContactDecision(
                False,
                pack.contact_window_rule,
                f"{local:%H:%M} in {timezone} is outside {start:02d}:00-{end:02d}:00",
                _utc_wall(opens),
            )
    cap = pack.frequency_caps.get(channel)
    if cap is not None:
        limit, days, rule = cap
        since = at - timedelta(days=days)
        recent = sorted(t for t in sent if since < t <= at)
        if len(recent) >= limit:
            # The earliest moment at which fewer than `limit` fall in the window again.
            free_at = recent[len(recent) - limit] + timedelta(days=days, seconds=1)
            return ContactDecision(
                False,
                rule,
                f"{len(recent)} {channel.value} in {days} days reaches the cap of {limit}",
                free_at,
            )
    return ALLOWED


def _utc_wall(local: datetime) -> datetime:
    """A local wall-clock time as an aware instant (zoneinfo resolves DST gaps forward)."""
    tz = local.tzinfo
    assert isinstance(tz, ZoneInfo)
    return datetime(local.year, local.month, local.day, local.hour, local.minute, tzinfo=tz)


# ---------------------------------------------------------------- calls staff place
# 12 CFR 1006.14(b)(3)(ii): a call not connected to the dialed number does not count.
NOT_CONNECTED = "not_connected"
# A telephone conversation with the borrower about the debt, whoever placed the call (comment
# 14(b)(4)-1.ii: "regardless of which party initiated the telephone call").
CONVERSATION = "reached"
CALL_LOOKBACK_DAYS = 14  # what a case keeps of its calls: twice the longest period counted


def counts_as_placed(direction: CallDirection, outcome: str) -> bool:
    """A call the servicer placed, counted toward the call frequency: the borrower's own calls
    are not placed by the servicer, and a call never connected to the dialed number is excluded."""
    return direction is CallDirection.OUTBOUND and outcome != NOT_CONNECTED


def is_conversation(outcome: str) -> bool:
    """A telephone conversation with the borrower (the right party reached)."""
    return outcome == CONVERSATION


def next_call(
    pack: Pack,
    *,
    at: datetime,
    placed: Sequence[datetime],
    conversations: Sequence[datetime],
    timezone: str | None = None,
) -> ContactDecision:
    """May staff place a call about this debt at `at` (aware), given the calls already placed and
    the conversations had? If not: the rule, why, and the start of the first day a call is allowed.

    Days are calendar days in `timezone` (the pack's by default), as the regulation counts them:
    under the US pack more than 7 calls within 7 consecutive days (1006.14(b)(2)(i)(A)), or any
    call within 7 consecutive days after a telephone conversation, the day of the conversation
    being the first (1006.14(b)(2)(i)(B)), is presumed harassment.
    """
    zone = ZoneInfo(timezone or pack.default_timezone)
    day = at.astimezone(zone).date()
    days_placed = sorted(t.astimezone(zone).date() for t in placed)
    cap = pack.frequency_caps.get(Channel.CALL)
    pause = pack.call_after_conversation
    talked = [t.astimezone(zone).date() for t in conversations if t <= at]
    pause_ends = max(talked) + timedelta(days=pause[0]) if pause is not None and talked else None

    def over_cap(d: date) -> bool:
        if cap is None:
            return False
        limit, days, _ = cap
        # a call on `d` must keep every window of `days` consecutive days that holds it at `limit`
        return any(
            sum(1 for p in days_placed if start <= p < start + timedelta(days=days)) >= limit
            for start in (d - timedelta(days=k) for k in range(days))
        )

    def blocked(d: date) -> bool:
        return over_cap(d) or (pause_ends is not None and d < pause_ends)

    if not blocked(day):
        return ALLOWED
    free = day
    while blocked(free) and free < day + timedelta(days=366):  # calls are finite: it ends
        free += timedelta(days=1)
    retry_at = datetime.combine(free, time(0), zone)
    if (
        pause is not None
        and pause_ends is not None
        and day < pause_ends
        and (pause_ends >= free or not over_cap(day))
    ):
        talk = max(talked)
        return ContactDecision(
            False,
            pause[1],
            f"a telephone conversation about the debt on {talk.isoformat()}: no call within "
            f"{pause[0]} consecutive days, that day the first; next call allowed on {free.isoformat()}",
            retry_at,
        )
    assert cap is not None
    limit, days, rule = cap
    fewer, since = min(  # the fullest window holding the day, the earliest of equals
        (-sum(1 for p in days_placed if start <= p < start + timedelta(days=days)), start)
        for start in (day - timedelta(days=k) for k in range(days))
    )
    count = -fewer
    until = since + timedelta(days=days - 1)
    return ContactDecision(
        False,
        rule,
        f"{count} calls placed about the debt from {since.isoformat()} to {until.isoformat()}: no "
        f"more than {limit} within {days} consecutive days; next call allowed on {free.isoformat()}",
        retry_at,
    )
