"""Production by default (issue 11, finding 7): a service refuses to start with a secret that
is public in this repository (the development admin token, card certificate master, terminal
key-encryption key) unless ``COMPTOIR_ENV=development`` says the machine is a developer's, and
even then it logs a warning at start.

Each secret is checked only by the services that use it, so that a deployment sets the card
master for cards and the key-encryption key for the gateway without giving them to the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.access import dev_service_key, parse_keys
from shared.card.crypto import DEV_MASTERS
from shared.settings import (
    DEV_ADMIN_TOKEN,
    DEV_LINK_KEY,
    DEV_SCOPE_PUBLIC_KEYS,
    DEV_SCOPE_SIGNING_KEY,
    DEV_SMS_CALLBACK_TOKEN,
    DEV_SMS_PASSWORD,
    DEV_TERMINAL_KEK,
    Settings,
)

DEVELOPMENT = "development"
ALL = frozenset({"terminals", "cards", "clearing", "crm", "notifications", "portal"})


@dataclass(frozen=True, slots=True)
class DevSecret:
    field: str
    what: str
    used_by: frozenset[str]
    value: str

    @property
    def variable(self) -> str:
        return f"COMPTOIR_{self.field.upper()}"

    # Set, this other setting replaces this one, which is then not used (the keyring of card
    # certificate masters replaces the single master).
    unless: str | None = None

    def is_set_in(self, settings: Settings) -> bool:
        if self.unless is not None and getattr(settings, self.unless):
            return False
        # Hex keys compare whatever their case: CE27... is the same public key.
        held = str(getattr(settings, self.field)).strip().lower()
        if self.field == "scope_public_keys":  # trusting a development key among others
            return any(key in held for key in parse_keys(self.value).values())
        if self.field == "service_signing_key":  # unset: the development key of its name
            return held in ("", dev_service_key(settings.service).lower())
        if self.field == "card_cert_keys":  # a keyring: the public key under any version
            return bool(held) and any(
                m.hex() == self.value.lower() for m in settings.card_keyring().masters.values()
            )
        return held == self.value.lower()


DEV_SECRETS = (
    DevSecret("admin_token", "the development admin token", ALL, DEV_ADMIN_TOKEN),
    DevSecret(
        "card_cert_key",
        "the development card certificate master",
        frozenset({"cards"}),
        DEV_MASTERS["cert"].hex(),
        unless="card_cert_keys",
    ),
    DevSecret(
        "card_cert_keys",
        "a keyring holding the development card certificate master",
        frozenset({"cards"}),
        DEV_MASTERS["cert"].hex(),
    ),
    DevSecret(
        "terminal_kek",
        "the development key-encryption key of the terminals' secrets",
        frozenset({"terminals"}),
        DEV_TERMINAL_KEK,
    ),
    DevSecret(
        "sms_password",
        "the development password of Kannel's sendsms",
        frozenset({"notifications"}),
        DEV_SMS_PASSWORD,
    ),
    DevSecret(
        "sms_callback_token",
        "the development token of Kannel's callbacks",
        frozenset({"notifications"}),
        DEV_SMS_CALLBACK_TOKEN,
    ),
    DevSecret(
        "scope_public_keys",
        "a development key of the scope tokens, the portal's or a service's (its private half "
        "is public)",
        ALL,
        DEV_SCOPE_PUBLIC_KEYS,
    ),
    DevSecret(
        "service_signing_key",
        "unset, so the development key of this service's calls to the others",
        ALL,
        "",
    ),
    DevSecret(
        "scope_signing_key",
        "the development signing key of the scope tokens",
        frozenset({"portal"}),
        DEV_SCOPE_SIGNING_KEY,
    ),
    DevSecret(
        "link_key",
        "the development key of the customers' signed links",
        frozenset({"crm"}),
        DEV_LINK_KEY,
    ),
)


def development_secrets(service: str, settings: Settings) -> list[DevSecret]:
    """The secrets of ``service`` that still hold their public development value."""
    return [d for d in DEV_SECRETS if service in d.used_by and d.is_set_in(settings)]


def refusal(service: str, settings: Settings) -> str | None:
    """One line naming every development secret a production start would use; None if the
    start may go on (no such secret, or a development machine)."""
    found = development_secrets(service, settings)
    if not found or settings.env == DEVELOPMENT:
        return None
    named = "; ".join(f"{d.variable} is {d.what} (public in the source)" for d in found)
    return (
        f"comptoir {service}: refusing to start: {named}. Set your own value (or "
        f"{found[0].variable}_FILE), or COMPTOIR_ENV={DEVELOPMENT} on a development machine."
    )
