"""The shared request field types: a narrower Text is written Annotated[Text, Field(...)],
and then both the validation and the published schema use the narrower length."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.fields import Text


class Holder(BaseModel):
    holder: Annotated[Text, Field(max_length=70)] = Field(description="the holder")


def test_a_narrower_text_is_checked_and_published_with_its_own_length() -> None:
    assert Holder.model_json_schema()["properties"]["holder"]["maxLength"] == 70
    assert Holder(holder="x" * 70).holder == "x" * 70
    with pytest.raises(ValidationError, match="at most 70"):
        Holder(holder="x" * 71)


def test_a_narrower_text_is_still_stripped_and_refuses_control_characters() -> None:
    assert Holder(holder="  Éloïse  ").holder == "Éloïse"
    with pytest.raises(ValidationError, match="control characters"):
        Holder(holder="bip\x07")
