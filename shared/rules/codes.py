"""Card numbers and voucher codes with a check character (F3, F11), pure so that a terminal
can refuse a mistyped number offline, before anything is written to a card or a journal.

- A card number is 16 digits: a 6-digit issuer prefix (the association's), a 9-digit
  serial, and a Luhn check digit (ISO/IEC 7812, what every till already knows how to read).
- A voucher code is 10 random characters from Crockford's base-32 alphabet (no I, L, O, U:
  nothing to confuse when read aloud or typed) and a Luhn mod 32 check character. Random,
  not sequential: a voucher is money, its code must not be guessable from another one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CARD_LENGTH = 16
ISSUER_DIGITS = 6
SERIAL_DIGITS = CARD_LENGTH - ISSUER_DIGITS - 1

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
VOUCHER_BODY = 10
_SEPARATORS = re.compile(r"[\s\-]")


class InvalidCode(ValueError):
    pass


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits + check`` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these will be in odd positions once the check digit is added
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card_number(issuer: str, serial: int) -> str:
    if not (issuer.isascii() and issuer.isdigit() and len(issuer) == ISSUER_DIGITS):
        raise InvalidCode(f"the issuer prefix has {ISSUER_DIGITS} digits: {issuer!r}")
    if not 0 <= serial < 10**SERIAL_DIGITS:
        raise InvalidCode(f"serial out of range: {serial}")
    body = f"{issuer}{serial:0{SERIAL_DIGITS}d}"
    return body + luhn_check_digit(body)


def parse_card_number(raw: str) -> str:
    """The 16 digits of a typed or printed card number, or InvalidCode saying why."""
    s = _SEPARATORS.sub("", raw)
    # isascii: isdigit() alone takes any script's digits.
    if not (s.isascii() and s.isdigit() and len(s) == CARD_LENGTH):
        raise InvalidCode(f"a card number has {CARD_LENGTH} digits 0-9: {raw!r}")
    if luhn_check_digit(s[:-1]) != s[-1]:
        raise InvalidCode(f"wrong check digit, the number is mistyped: {raw!r}")
    return s


def format_card_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _check_char(body: str) -> str:
    """Luhn mod N over the base-32 alphabet: catches every single wrong character and every
    swap of two adjacent characters but one, 0 and Z (as Luhn mod 10 misses 09 and 90)."""
    n = len(ALPHABET)
    factor, total = 2, 0
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def voucher_code(random_index: Callable[[int], int]) -> str:
    """A new code; ``random_index(n)`` picks in range(n) (``secrets.randbelow`` in production)."""
    body = "".join(ALPHABET[random_index(len(ALPHABET))] for _ in range(VOUCHER_BODY))
    return body + _check_char(body)


def parse_voucher_code(raw: str) -> str:
    """Normalise what a merchant typed (case, dashes, O→0, I/L→1) and check it."""
    s = _SEPARATORS.sub("", raw).upper().translate(str.maketrans("OIL", "011"))
    if len(s) != VOUCHER_BODY + 1 or any(ch not in ALPHABET for ch in s):
        raise InvalidCode(f"a voucher code has {VOUCHER_BODY + 1} letters and digits: {raw!r}")
    if _check_char(s[:-1]) != s[-1]:
        raise InvalidCode(f"wrong check character, the code is mistyped: {raw!r}")
    return s


def format_voucher_code(code: str) -> str:
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


# A referral code (F22): a sponsor's own code, typed at the till, printed on a receipt or read
# from a link. Seven random characters of the same alphabet and a check character: 35 bits,
# drawn again on the rare collision within an association (codes are unique per association).
REFERRAL_BODY = 7


def referral_code(random_index: Callable[[int], int]) -> str:
    """A new referral code; ``random_index(n)`` picks in range(n) (``secrets.randbelow``)."""
    body = "".join(ALPHABET[random_index(len(ALPHABET))] for _ in range(REFERRAL_BODY))
    return body + _check_char(body)


def parse_referral_code(raw: str) -> str:
    """Normalise a typed referral code (case, dashes, spaces, O→0, I/L→1) and check it."""
    s = _SEPARATORS.sub("", raw).upper().translate(str.maketrans("OIL", "011"))
    if len(s) != REFERRAL_BODY + 1 or any(ch not in ALPHABET for ch in s):
        raise InvalidCode(f"a referral code has {REFERRAL_BODY + 1} letters and digits: {raw!r}")
    if _check_char(s[:-1]) != s[-1]:
        raise InvalidCode(f"wrong check character, the code is mistyped: {raw!r}")
    return s


def format_referral_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"
