"""What the logs never keep (shared/logging.py's ``redact``): a signed link's token, an e-mail
address, a phone number; the ids, dates and card numbers a path carries stay readable."""

from __future__ import annotations

import pytest

from shared.logging import redact

TOKEN = "ZGV0YWlscy5mZjlhMTJhMS04M2NkLTRjYWYtYmZkNi1jMWEyYzkzZWFkNmEuMTc5OTE3MzU3Ng.L67vfH3vHLI_RVqj9KHWePG9EwE"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"/v1/public/details/{TOKEN}", "/v1/public/details/{token}"),
        ("/v1/public/details/claire.dupont@example.org", "/v1/public/details/{email}"),
        ("/v1/customers/+33612345678", "/v1/customers/{phone}"),
        ("/v1/customers/06 12 34 56 78", "/v1/customers/{phone}"),
        ("/v1/customers/06.12.34.56.78/x", "/v1/customers/{phone}/x"),
        ("Key (email)=(a@b.fr) already exists.", "Key (email)=({email}) already exists."),
        ("Key (phone)=(+33612345678) already exists.", "Key (phone)=({phone}) already exists."),
    ],
)
def test_secrets_and_personal_data_are_replaced_by_their_kind(text: str, kept: str) -> None:
    assert redact(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "/v1/triggers/123e4567-e89b-12d3-a456-426614174000/days/2026-12-06",
        "/v1/cards/2500010000000018/block",
        "/v1/merchants/5b1c0d7e-0000-4000-8000-000000000001/statements/2026-12.xlsx",
        "/openapi.json",
    ],
)
def test_ids_dates_and_card_numbers_stay(text: str) -> None:
    assert redact(text) == text
