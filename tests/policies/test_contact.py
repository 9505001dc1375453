"""Each contact rule on its own: the local-time window, the frequency caps, the holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.enums import Channel, PolicyPack
from policies import contact, get_pack

US = get_pack(PolicyPack.US_MORTGAGE)
NL = get_pack(PolicyPack.NL_CONSUMER)
NY = "America/New_York"


def local(hour: int, minute: int = 0, tz: str = NY, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(tz))


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS, Channel.CALL])
def test_a_message_due_at_22_00_local_waits_until_08_00(channel: Channel) -> None:
    decision = contact.check(US, channel=channel, at=local(22), timezone=NY)
    assert not decision.allowed
    assert decision.rule is not None and decision.rule.citation == "12 CFR 1006.6(b)(1)(i)"
    assert decision.retry_at == local(8, day=25)
    assert "22:00" in decision.reason


def test_before_08_00_waits_until_08_00_the_same_day() -> None:
    decision = contact.check(
        NL, channel=Channel.SMS, at=local(6, 30, "Europe/Amsterdam"), timezone="Europe/Amsterdam"
    )
    assert decision.retry_at == local(8, tz="Europe/Amsterdam")


def test_the_window_is_the_borrowers_local_time_not_the_servers() -> None:
    at = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 22:00 in New York, 04:00 in Amsterdam
    assert not contact.check(US, channel=Channel.EMAIL, at=at, timezone=NY).allowed
    assert contact.check(US, channel=Channel.EMAIL, at=at, timezone="Asia/Tokyo").allowed  # 12:00


def test_window_edges_08_00_in_and_21_00_out() -> None:
    assert contact.check(US, channel=Channel.SMS, at=local(8), timezone=NY).allowed
    assert contact.check(US, channel=Channel.SMS, at=local(20, 59), timezone=NY).allowed
    assert not contact.check(US, channel=Channel.SMS, at=local(21), timezone=NY).allowed


def test_letters_have_no_time_window() -> None:
    assert contact.check(US, channel=Channel.LETTER, at=local(23), timezone=NY).allowed


def test_seven_calls_in_seven_days_is_the_us_cap() -> None:
    now = local(12)
    calls = [now - timedelta(days=6, hours=20) + timedelta(hours=20 * i) for i in range(7)]
    decision = contact.check(US, channel=Channel.CALL, at=now, timezone=NY, sent=calls)
    assert not decision.allowed
    assert decision.rule is not None and decision.rule.citation == "12 CFR 1006.14(b)(2)(i)(A)"
    # allowed again once the oldest call is seven days old
    assert decision.retry_at == calls[0] + timedelta(days=7, seconds=1)
    assert contact.check(US, channel=Channel.CALL, at=decision.retry_at, timezone=NY, sent=calls).allowed
    assert contact.check(US, channel=Channel.CALL, at=now, timezone=NY, sent=calls[1:]).allowed


def test_sms_cap_counts_only_the_last_seven_days() -> None:
    now = local(12)
    old = [now - timedelta(days=8)] * 5
    recent = [now - timedelta(days=1), now - timedelta(days=2)]
    assert contact.check(NL, channel=Channel.SMS, at=now, timezone=NY, sent=old + recent).allowed
    refused = contact.check(
        NL, channel=Channel.SMS, at=now, timezone=NY, sent=[*recent, now - timedelta(hours=1)]
    )
    assert not refused.allowed and "cap of 3" in refused.reason


@pytest.mark.parametrize(
    ("hold", "citation"),
    [
        ("stay", "11 U.S.C. 362(a)(6)"),
        ("cease", "15 U.S.C. 1692c(c); 12 CFR 1006.6(c)"),
        ("dispute", "15 U.S.C. 1692g(b); 12 CFR 1006.34(c)(3)"),
    ],
)
def test_holds_suppress_every_channel_with_no_retry(hold: str, citation: str) -> None:
    for channel in Channel:
        decision = contact.check(US, channel=channel, at=local(12), timezone=NY, holds=[hold])
        assert not decision.allowed and decision.retry_at is None
        assert decision.rule is not None and decision.rule.citation == citation
