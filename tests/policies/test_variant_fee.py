"""A strategy variant's reminder fee is the fee its cases are charged: lower than the pack's, or
none; never above the pack's cap, which stays the law's whatever a variant applied."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.enums import PolicyPack
from policies import get_pack
from policies.se_consumer import R
from policies.strategy import Variant, VariantRefused, apply, own_reminder_fee, violations

SE = get_pack(PolicyPack.SE_CONSUMER)


def _variant(fee: str | None, name: str = "fee") -> Variant:
    return Variant(pack=PolicyPack.SE_CONSUMER, name=name, reminder_fee=None if fee is None else Decimal(fee))


def test_a_lower_fee_is_what_the_pack_charges_under_the_law_it_cites() -> None:
    pack = apply(SE, _variant("30.00"))
    assert pack.reminder_fee(agreed=True) == (Decimal("30.00"), R["reminder_fee"])
    assert pack.reminder_fee(agreed=False) is None  # still only where the loan agreed one
    assert SE.reminder_fee(agreed=True) == (Decimal("60.00"), R["reminder_fee"])  # the pack unchanged


def test_the_fee_is_charged_in_ore_as_the_packs_is() -> None:
    whole = Variant(pack=PolicyPack.SE_CONSUMER, name="whole", reminder_fee=Decimal(30))
    charged = apply(SE, whole).reminder_fee(agreed=True)
    assert charged is not None and str(charged[0]) == "30.00"  # as the audit trail shows it


def test_a_fee_of_nothing_charges_nothing() -> None:
    pack = apply(SE, _variant("0"))
    assert pack.reminder_fee(agreed=True) is None


def test_a_variant_without_a_fee_keeps_the_packs() -> None:
    pack = apply(SE, _variant(None))
    assert pack.reminder_fee(agreed=True) == (Decimal("60.00"), R["reminder_fee"])


def test_the_cap_stays_the_laws_once_a_variant_lowered_the_fee() -> None:
    lowered = apply(SE, _variant("30.00"))
    assert own_reminder_fee(lowered) == (Decimal("60.00"), R["reminder_fee"])
    # a second variant over the lowered copy may charge up to 60 kr, not above
    assert apply(lowered, _variant("45.00", "again")).reminder_fee(agreed=True) == (
        Decimal("45.00"),
        R["reminder_fee"],
    )
    [violation] = violations(lowered, _variant("60.01", "dear"))
    assert str(violation) == (
        "reminder_fee: 60.01 is above the cap of 60.00 (se_consumer.fees.reminder; "
        "Lag (1981:739) om ersättning för inkassokostnader m.m. 4 §: 60 kr, where agreed when the "
        "debt arose)"
    )


def test_a_fee_above_the_cap_is_still_refused() -> None:
    with pytest.raises(VariantRefused, match=r"reminder_fee: 60\.01 is above the cap of 60\.00"):
        apply(SE, _variant("60.01"))
    assert apply(SE, _variant("60.00")).reminder_fee(agreed=True) == (Decimal("60.00"), R["reminder_fee"])


def test_a_pack_without_a_fee_charges_none_under_a_variant_of_nothing() -> None:
    us = get_pack(PolicyPack.US_MORTGAGE)
    free = Variant(pack=PolicyPack.US_MORTGAGE, name="free", reminder_fee=Decimal("0"))
    assert apply(us, free).reminder_fee(agreed=True) is None
    with pytest.raises(VariantRefused, match="the pack allows no fee for a reminder"):
        apply(us, Variant(pack=PolicyPack.US_MORTGAGE, name="fee", reminder_fee=Decimal("1.00")))
