"""Jurisdiction policy packs: data plus pure, deterministic functions, safe inside workflows."""

from policies.base import Pack, Rule, get_pack

__all__ = ["Pack", "Rule", "get_pack"]
