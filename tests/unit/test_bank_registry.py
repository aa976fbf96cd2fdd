"""What the IBAN and BIC checks take from schwifty's registries and what stays the EPC's
(services/clearing/domain/bank.py and epc.py), without I/O."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.clearing.domain import bank, epc
from services.clearing.domain.bank import BankDetailsError

FR_BBAN = "30006000011234567890189"


def _refused(call: Callable[..., str], *args: str, **kwargs: bool) -> BankDetailsError:
    with pytest.raises(BankDetailsError) as info:
        call(*args, **kwargs)
    return info.value


def _iban(country: str, bban: str) -> str:
    return country + bank.iban_check_digits(country, bban) + bban


def test_the_registry_is_schwiftys_without_its_aspirational_formats() -> None:
    # Morocco's format is reserved, not in the SWIFT registry: a bank may refuse it.
    e = _refused(bank.normalize_iban, _iban("MA", "1" * 24))
    assert e.field == "iban" and "not a country of the IBAN registry" in e.detail
    assert "MA" not in bank.IBAN_LENGTHS


def test_a_sepa_territory_with_its_own_prefix_is_a_sepa_iban() -> None:
    reunion = _iban("RE", FR_BBAN)
    assert bank.normalize_iban(reunion, sepa_only=True) == reunion
    assert not bank.address_required(reunion)  # Réunion is in the EEA, as part of France


def test_a_cfp_franc_territory_has_an_iban_but_is_outside_sepa() -> None:
    # schwifty counts New Caledonia in its SEPA zone; the EPC's list does not (CFP franc).
    noumea = _iban("NC", FR_BBAN)
    assert bank.normalize_iban(noumea) == noumea
    e = _refused(bank.normalize_iban, noumea, sepa_only=True)
    assert "outside the SEPA area" in e.detail


def test_the_countries_that_joined_sepa_in_2025_are_in_and_need_an_address() -> None:
    # Not yet in schwifty's SEPA zone flag: the EPC list is ours.
    albania = _iban("AL", "21211009" + "0000000235698741")
    assert bank.normalize_iban(albania, sepa_only=True) == albania
    assert bank.address_required(albania)
    assert {"AL", "MD", "ME", "MK"} <= epc.SEPA_IBAN_COUNTRIES & epc.NON_EEA_SEPA_COUNTRIES


def test_a_kosovo_bic_is_accepted_though_iso_3166_has_no_xk() -> None:
    assert bank.normalize_bic("RBKOXKPR") == "RBKOXKPR"
    assert "XK" in epc.ISO_COUNTRIES


def test_swifts_location_code_rule_is_kept_on_top_of_iso_9362() -> None:
    for bic in ("BNPAFR0P", "BNPAFR1P", "BNPAFRPO", "BNP1FRPP"):
        e = _refused(bank.normalize_bic, bic)
        assert "not well formed" in e.detail
    assert bank.normalize_bic("BNPAFRP2") == "BNPAFRP2"


def test_creditor_identifiers_keep_the_national_prefixes_of_the_sepa_schemes() -> None:
    # A territory's creditor identifier is its parent's (FR for Réunion): RE is refused.
    cid = "RE" + epc.creditor_id_check_digits("RE", "123456") + "ZZZ123456"
    e = _refused(epc.normalize_creditor_id, cid)
    assert "not a country of the SEPA schemes" in e.detail
