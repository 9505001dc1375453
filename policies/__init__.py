"""Jurisdiction policy packs: data plus pure, deterministic functions, safe inside workflows."""

from models.enums import PolicyPack
from policies.base import Pack, Rule, Step, StepKind
from policies.be_consumer import BE_CONSUMER
from policies.nl_consumer import NL_CONSUMER
from policies.se_consumer import SE_CONSUMER
from policies.us_mortgage import US_MORTGAGE

_PACKS: dict[PolicyPack, Pack] = {
    PolicyPack.US_MORTGAGE: US_MORTGAGE,
    PolicyPack.NL_CONSUMER: NL_CONSUMER,
    PolicyPack.SE_CONSUMER: SE_CONSUMER,
    PolicyPack.BE_CONSUMER: BE_CONSUMER,
}


def get_pack(name: PolicyPack) -> Pack:
    """The pack for a name."""
    return _PACKS[name]


__all__ = ["Pack", "Rule", "Step", "StepKind", "get_pack"]
