"""Phone numbers in E.164 by libphonenumber's plans: a national form is read in the default
region, a number of another country keeps its country, what is no number is refused."""

from __future__ import annotations

import random

import pytest
from pydantic import BaseModel, ValidationError

from shared.fields import PhoneNumber
from shared.rules.phone import InvalidPhone, _e164, normalise, region_of


class _Body(BaseModel):
    phone: PhoneNumber


def test_a_belgian_mobile_in_national_form_is_belgian_in_a_belgian_region() -> None:
    assert normalise("0470 12 34 56", region="BE") == "+32470123456"
    assert normalise("0470 12 34 56", "32") == "+32470123456"
    # Read in France, the same digits are a French fixed line of the south-east.
    assert normalise("0470 12 34 56") == "+33470123456"


def test_a_belgian_number_in_international_form_stays_belgian() -> None:
    assert normalise("+32 470 12 34 56") == "+32470123456"
    assert normalise("0032 470 12 34 56") == "+32470123456"


def test_00_then_a_short_number_is_refused_not_made_american() -> None:
    with pytest.raises(InvalidPhone):
        normalise("00 12 34 56 78")


def test_swiss_and_uk_mobiles_keep_their_country() -> None:
    assert normalise("+41 79 123 45 67") == "+41791234567"
    assert normalise("0041 79 123 45 67") == "+41791234567"
    assert normalise("+44 7911 123456") == "+447911123456"
    assert normalise("07911 123456", region="GB") == "+447911123456"


def test_french_fixed_and_mobile_numbers_in_national_form() -> None:
    assert normalise("01 42 68 53 00") == "+33142685300"
    assert normalise("06 12 34 56 78") == "+33612345678"
    assert normalise("06.12.34.56.78") == "+33612345678"
    assert normalise("+33 (0)6 12 34 56 78") == "+33612345678"
    assert normalise("0033612345678") == "+33612345678"


def test_a_range_the_metadata_does_not_list_yet_is_kept_when_its_length_fits() -> None:
    assert normalise("07 00 00 00 01") == "+33700000001"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12",
        "garbage",
        "06 12 34 56 7",  # a digit short: not +33 0 61 23 45 67
        "06123456789012345",
        "01234567890",
        "+0612345678",
        "0612345678 ext 12",
        "06 12 AB CD 78",  # libphonenumber would read the letters as a keypad's digits
        "tel: 0612345678",
        "06\u202e12345678",
        "0612345678\x00",
        "\u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
    ],
)
def test_what_is_not_a_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="not a phone number"):
        normalise(raw)


def test_the_request_field_stores_e164_and_reports_the_same_message() -> None:
    assert _Body(phone="+41 79 123 45 67").phone == "+41791234567"
    with pytest.raises(ValidationError, match="not a phone number"):
        _Body(phone="00 12 34 56 78")


def test_the_region_of_a_calling_code() -> None:
    assert (region_of("33"), region_of("32"), region_of("1")) == ("FR", "BE", "US")
    with pytest.raises(ValueError):
        region_of("999")


def test_a_number_seen_again_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """libphonenumber takes some 40 µs a number, checked with each sale at the gateway: a
    customer's number, which comes back with each of their sales, is parsed once. The answer is
    the same either way, for a good number and for a refused one, in each region."""
    import phonenumbers

    parsed: list[str] = []
    real = phonenumbers.parse

    def counting(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        parsed.append(number)
        return real(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting)
    for _ in range(3):
        assert normalise(" 06 71 82 93 04 ") == "+33671829304"
        assert normalise("0471 82 93 04", region="BE") == "+32471829304"
        with pytest.raises(InvalidPhone, match="not a phone number: '00 71 82 93 04'"):
            normalise("00 71 82 93 04")
    assert normalise("0471 82 93 04") == "+33471829304"  # the same digits, another region
    assert parsed == ["06 71 82 93 04", "0471 82 93 04", "00 71 82 93 04", "0471 82 93 04"]


def test_a_french_number_without_separators_is_what_libphonenumber_makes_of_it() -> None:
    """The French numbers ``normalise`` reads without libphonenumber (+33 or 0, nine digits,
    the first not 0) are those libphonenumber accepts as +33 and the nine digits: on every
    four-digit beginning, with random ends, in both forms."""
    rng = random.Random(33)
    for start in range(1_000, 10_000):
        for _ in range(2):
            digits = f"{start}{rng.randrange(100_000):05d}"
            for typed in ("+33" + digits, "0" + digits):
                assert _e164(typed, "FR") == normalise(typed) == "+33" + digits, typed
    # what the short way does not take still goes through libphonenumber, as before
    assert normalise("0033612345678") == "+33612345678"
    assert normalise("+330612345678") == "+33612345678"
    with pytest.raises(InvalidPhone):
        normalise("0012345678")
    assert normalise("0612345678", region="BE") == "+32612345678"
