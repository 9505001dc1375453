"""Contact rules checked before every send: holds, the local-time window, frequency caps.

Pure and deterministic: the caller passes the moment of the send and what was already sent,
so the same check runs in the delivery activity and in tests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.enums import Channel
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
