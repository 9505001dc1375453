"""What every pack provides, and the registry of packs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.enums import CaseStage, PolicyPack


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule a step is taken under: pack-qualified ID and the legal citation."""

    id: str
    citation: str


@dataclass(frozen=True, slots=True)
class Pack:
    """A jurisdiction's rules. Only what the platform needs today; the lifecycle adds more."""

    name: PolicyPack
    currency: str
    languages: tuple[str, ...]
    default_timezone: str
    case_opening: Rule

    def days_past_due(self, *, reported: int, as_of: date, today: date) -> int:
        """Days past due today, given what the loan system reported on `as_of`."""
        return reported + max(0, (today - as_of).days)

    def initial_stage(self, days_past_due: int) -> CaseStage:
        """Where a newly opened case starts. Mid-life entry needs the later stages (not built yet)."""
        return CaseStage.EARLY


_PACKS: dict[PolicyPack, Pack] = {
    PolicyPack.US_MORTGAGE: Pack(
        name=PolicyPack.US_MORTGAGE,
        currency="USD",
        languages=("en", "es"),
        default_timezone="America/New_York",
        case_opening=Rule("us_mortgage.case.opening", "12 CFR 1024.39(a)"),
    ),
    PolicyPack.NL_CONSUMER: Pack(
        name=PolicyPack.NL_CONSUMER,
        currency="EUR",
        languages=("nl", "en"),
        default_timezone="Europe/Amsterdam",
        case_opening=Rule("nl_consumer.case.opening", "Art. 6:96 BW; Besluit vergoeding BIK"),
    ),
    PolicyPack.SE_CONSUMER: Pack(
        name=PolicyPack.SE_CONSUMER,
        currency="SEK",
        languages=("sv", "en"),
        default_timezone="Europe/Stockholm",
        case_opening=Rule("se_consumer.case.opening", "Inkassolag (1974:182) 5 §"),
    ),
}


def get_pack(name: PolicyPack) -> Pack:
    """The pack for a name."""
    return _PACKS[name]
