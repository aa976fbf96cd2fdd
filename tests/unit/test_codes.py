from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules.codes import (
    ALPHABET,
    InvalidCode,
    card_number,
    format_card_number,
    format_voucher_code,
    luhn_check_digit,
    parse_card_number,
    parse_voucher_code,
    voucher_code,
)


def test_the_luhn_check_digit_of_known_numbers() -> None:
    # Worked: 7992739871 → the textbook Luhn example, check digit 3.
    assert luhn_check_digit("7992739871") == "3"
    # A classic test card number, 4111 1111 1111 1111, is valid.
    assert parse_card_number("4111 1111 1111 1111") == "4111111111111111"


def test_a_card_number_is_issuer_serial_and_check_digit() -> None:
    n = card_number("123456", 42)
    assert n[:6] == "123456" and n[6:15] == "000000042" and len(n) == 16
    assert parse_card_number(format_card_number(n)) == n
    assert format_card_number(n) == f"{n[:4]} {n[4:8]} {n[8:12]} {n[12:]}"


@pytest.mark.parametrize(
    ("issuer", "serial"),
    [("12345", 1), ("1234567", 1), ("12a456", 1), ("123456", -1), ("123456", 10**9)],
)
def test_a_bad_issuer_or_serial_is_refused(issuer: str, serial: int) -> None:
    with pytest.raises(InvalidCode):
        card_number(issuer, serial)


@given(st.integers(0, 10**9 - 1), st.integers(0, 15), st.integers(1, 9))
def test_any_single_mistyped_digit_of_a_card_number_is_caught(
    serial: int, pos: int, delta: int
) -> None:
    n = card_number("987654", serial)
    wrong = n[:pos] + str((int(n[pos]) + delta) % 10) + n[pos + 1 :]
    with pytest.raises(InvalidCode, match="check digit"):
        parse_card_number(wrong)


@pytest.mark.parametrize("raw", ["", "1234", "4111 1111 1111 111x", "41111111111111111"])
def test_what_is_not_a_card_number_says_so(raw: str) -> None:
    with pytest.raises(InvalidCode, match="16 digits"):
        parse_card_number(raw)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


@given(st.integers(0, 2**32))
def test_a_voucher_code_parses_back_whatever_the_typing(seed: int) -> None:
    code = voucher_code(_rng(seed).randrange)
    assert len(code) == 11 and set(code) <= set(ALPHABET)
    assert parse_voucher_code(format_voucher_code(code).lower()) == code


def test_letters_read_for_digits_are_understood() -> None:
    picks = iter([0, 1] * 5)  # a body of zeros and ones: "0101010101"
    code = voucher_code(lambda _: next(picks))
    typed = code[:10].replace("0", "o").replace("1", "I") + code[10]
    assert parse_voucher_code(typed) == code


@given(st.integers(0, 2**32), st.integers(0, 10), st.integers(1, 31))
def test_any_single_wrong_character_of_a_voucher_is_caught(seed: int, pos: int, delta: int) -> None:
    code = voucher_code(_rng(seed).randrange)
    wrong = code[:pos] + ALPHABET[(ALPHABET.index(code[pos]) + delta) % 32] + code[pos + 1 :]
    with pytest.raises(InvalidCode, match="check character"):
        parse_voucher_code(wrong)


def test_the_one_swap_luhn_mod_32_misses_is_0_and_z() -> None:
    # Both bodies have the check character 1: a merchant swapping 0 and Z is not caught.
    assert parse_voucher_code("00000" + "0Z" + "000" + "1") == "000000Z0001"
    assert parse_voucher_code("00000" + "Z0" + "000" + "1") == "00000Z00001"


@given(st.integers(0, 2**32), st.integers(0, 9))
def test_two_swapped_neighbours_of_a_voucher_are_caught(seed: int, pos: int) -> None:
    code = voucher_code(_rng(seed).randrange)
    if code[pos] == code[pos + 1] or {code[pos], code[pos + 1]} == {"0", "Z"}:
        return  # equal characters; 0 and Z, the one swap Luhn mod 32 cannot see
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    with pytest.raises(InvalidCode, match="check character"):
        parse_voucher_code(swapped)


@pytest.mark.parametrize("raw", ["", "ABC", "ABCDEFGHJKMNP", "ABCD-EFGH-J!"])
def test_what_is_not_a_voucher_code_says_so(raw: str) -> None:
    with pytest.raises(InvalidCode, match="11 letters and digits"):
        parse_voucher_code(raw)
