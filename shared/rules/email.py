"""E-mail addresses that name a person (the customer file, a quick enrolment at the till, a
cardless account found by its e-mail): one syntax check and one spelling everywhere, so the
address a till typed is the one cards looks up and crm writes to.

A syntax check, not a deliverability one: one ``@``, a local part of RFC 5322's atom
characters (dots not first, last nor doubled), a domain of at least two dotted labels (letters,
digits, inner hyphens) whose last is not all digits; RFC 5321's lengths. Lower-cased: mailbox
providers treat the local part without case, and one spelling is one identifier.
"""

from __future__ import annotations

import re

_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class InvalidEmail(ValueError):
    pass


def normalise(value: str) -> str:
    """``" G.Buis@Example.FR "`` → ``"g.buis@example.fr"``; InvalidEmail when it is not one."""
    value = value.strip()
    if len(value) > 254 or value.count("@") != 1:
        raise InvalidEmail("not an e-mail address")
    local, domain = value.split("@")
    labels = domain.split(".")
    if (
        not _LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidEmail("not an e-mail address")
    return value.lower()
