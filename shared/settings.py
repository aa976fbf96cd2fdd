"""Typed settings read from the environment (prefix ``COMPTOIR_``)."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.access import (
    DEV_SIGNING_KEY,
    DEV_TRUSTED_KEYS,
    SERVICE_KID,
    dev_service_key,
    parse_keys,
)
from shared.card.crypto import DEFAULT_KEY_VERSION
from shared.card.keyring import Keyring, current_version, parse_cert_keyring
from shared.rules.dates import DateWindow

DEFAULT_PORTS = {
    "terminals": 8080,
    "cards": 8081,
    "clearing": 8082,
    "crm": 8083,
    "notifications": 8084,
    "portal": 8085,
}


# Public development secrets: a service refuses to start with them unless COMPTOIR_ENV is
# "development" (shared/production.py).
DEV_ADMIN_TOKEN = "dev-admin-token"
DEV_TERMINAL_KEK = "7e4a" * 16
# Kannel's of `make run` (deploy/messaging.py) and the suite's.
DEV_SMS_PASSWORD = "comptoir-dev-sendsms"
DEV_SMS_CALLBACK_TOKEN = "dev-sms"
DEV_LINK_KEY = "11c0" * 16
DEV_SCOPE_PUBLIC_KEYS = DEV_TRUSTED_KEYS
DEV_SCOPE_SIGNING_KEY = DEV_SIGNING_KEY


class SecretFiles(PydanticBaseSettingsSource):
    """``COMPTOIR_<NAME>_FILE=/run/secrets/x``: the setting's value is that file's content (how
    Compose and Kubernetes hand secrets over without putting them in the environment)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            variable = f"COMPTOIR_{name.upper()}"
            path = os.environ.get(f"{variable}_FILE")
            if not path:
                continue
            if os.environ.get(variable):
                raise ValueError(f"both {variable} and {variable}_FILE are set: keep one")
            try:
                # A file written by `echo` ends with a newline that is not part of the secret.
                values[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise ValueError(f"{variable}_FILE={path}: {exc.strerror}") from exc
        return values


class Settings(BaseSettings):
    # hide_input_in_errors: a setting refused at start is named, its value (a key, a
    # keyring, a token) is not copied to the logs.
    model_config = SettingsConfigDict(
        env_prefix="COMPTOIR_", extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, SecretFiles(settings_cls), dotenv_settings)

    # "production" unless a developer's machine says "development" (make run/test/bench do):
    # only then may the public development secrets below be used.
    env: str = "production"

    service: str = "comptoir"
    host: str = "127.0.0.1"
    port: int = 0  # 0: the service's default port from DEFAULT_PORTS
    database_url: str = "postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir"
    db_pool_min: int = 2
    db_pool_max: int = 10
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    exchange: str = "comptoir.events"
    dead_letter_exchange: str = "comptoir.dlx"
    prefetch: int = 8
    delivery_limit: int = 5
    handler_retries: int = 4
    relay_batch: int = 500
    relay_poll_s: float = 1.0
    log_level: str = "INFO"
    # The operator's bootstrap bearer token (the first sign-in, the demo's seed); people,
    # machines and the services themselves come with scope tokens (shared/access.py).
    admin_token: str = Field(default=DEV_ADMIN_TOKEN, min_length=8)
    # The Ed25519 public keys the scope tokens are verified with, "kid:HEX,kid:HEX": the
    # portal's (several while its key rotates) and each service's own (kid svc-<name>); the
    # default is the development keys'.
    scope_public_keys: str = DEV_SCOPE_PUBLIC_KEYS
    # This service's own signing key, "svc-<name>:HEX seed", for its calls to the other
    # services (shared/peers.py); unset, the development key of its name, which only
    # COMPTOIR_ENV=development accepts.
    service_signing_key: str = ""
    # How long the gateway waits for the cards service's verdict before answering 202.
    outcome_timeout_s: float = 5.0
    # Signed terminal requests older or newer than this are refused (clock skew + replay window).
    signature_window_s: int = 300
    shutdown_grace_s: float = 10.0
    # The gateway's raw TCP line for terminals' sync sessions (modem-style framing); 0: off.
    sync_line_port: int = 8070
    # Connections with limits (issue 11, build item 8; shared/edge.py). HTTP: a request's
    # head must be complete within header_timeout of its first byte, its body within
    # body_timeout of its head; an idle connection closes after keepalive_timeout; past
    # max_connections open at once, a new connection gets a 503 and is closed.
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_body_timeout_s: float = Field(default=30.0, gt=0)
    http_keepalive_timeout_s: float = Field(default=15.0, gt=0)
    http_max_connections: int = Field(default=1024, ge=1)
    # The line: a connection without a valid HELLO within hello_timeout, or that sends
    # max_malformed malformed frames (before HELLO; in a row after it), is hung up.
    line_hello_timeout_s: float = Field(default=30.0, gt=0)
    line_max_malformed: int = Field(default=3, ge=1)
    # The cards service's master key for card certificates (hex, 16 bytes), that of key
    # version 1 when no keyring is set; the default is the development key of the demo and
    # the tests: a real network sets its own.
    card_cert_key: str = Field(
        default="ce27ce27ce27ce27ce27ce27ce27ce27", pattern=r"^[0-9a-fA-F]{32}$"
    )
    # The keyring of certificate masters by key version, for rotation (shared/card/keyring.py,
    # docs/terminal-protocol.md): "1:HEX,2:HEX", or a file of such entries
    # (COMPTOIR_CARD_CERT_KEYS_FILE). Every version of a card in circulation stays in it; a line
    # of a version not in it is held as unknown_key_version. Set, it replaces card_cert_key.
    card_cert_keys: str = ""
    # The current key version, the one new cards and SAMs get; 0: the highest in the keyring.
    card_key_version: int = Field(default=0, ge=0, le=255)
    # The gateway's key-encryption key (hex, 32 bytes, AES-256-GCM) that seals the terminals'
    # HMAC secrets in its schema; the default is the development one. Rotation: start the
    # gateway with the new key here and the old one in terminal_kek_previous, run
    # `python -m services.terminals rotate-kek`, then drop terminal_kek_previous.
    terminal_kek: str = Field(default=DEV_TERMINAL_KEK, pattern=r"^[0-9a-fA-F]{64}$")
    terminal_kek_previous: str = Field(default="", pattern=r"^([0-9a-fA-F]{64})?$")
    # A card whose transaction counter jumps by more than this is reported (withheld
    # transactions, or a terminal that never synced).
    atc_gap_alert: int = 50
    # Clearing: a month is closed automatically this many hours after it ends (0: never; the
    # API closes it too), leaving the terminals that were off a little time to sync.
    close_after_hours: int = 48
    # Clearing's reconciliation job runs this often; 0: only when asked through the API.
    reconcile_every_s: int = 300
    # Where clearing asks cards for the cardholders' balances (reconciliation).
    cards_url: str = "http://127.0.0.1:8081"
    # Where cards asks the gateway what it acknowledged of the terminals' journals
    # (reconciliation: every line acknowledged is booked or held in quarantine).
    terminals_url: str = "http://127.0.0.1:8080"
    # Where crm gathers what the other services hold of a person (GDPR access), where
    # notifications fetches attachments (a statement's XLSX) and where Kannel's callbacks go.
    clearing_url: str = "http://127.0.0.1:8082"
    notifications_url: str = "http://127.0.0.1:8084"
    # Where the gateway asks crm whether a referral code given at the till is held (F22).
    crm_url: str = "http://127.0.0.1:8083"

    # crm: the key that signs the links of its public routes (completing one's details,
    # confirming an e-mail consent, unsubscribing in one click), and the base URL of those
    # routes as people reach them.
    link_key: str = Field(default=DEV_LINK_KEY, pattern=r"^[0-9a-fA-F]{64}$")
    public_url: str = "http://127.0.0.1:8083"
    # crm: the personal data of a customer not seen for this many days are erased by the daily
    # retention job (0: never); three years, the CNIL's usual term for a loyalty programme.
    retention_days: int = Field(default=1095, ge=0, le=36_500)
    # crm: how often its daily jobs (retention, the triggers) look for a day to run, and cards:
    # its daily review of the status levels; 0: they never run by themselves (the test suite
    # runs them on days it chooses).
    daily_check_s: float = Field(default=3600.0, ge=0)
    # crm: the campaign job sends the one-off campaigns asked for (POST …/send wakes the replica
    # that answered at once; the others look this often) in batches of this many customers,
    # each batch one transaction.
    campaign_poll_s: float = Field(default=5.0, gt=0)
    campaign_batch: int = Field(default=500, ge=1, le=10_000)
    # crm: how often the roll-up adds the facts recorded to the statistics' sums (a reading
    # adds them first anyway); the longer, the fewer updates of the association's and the
    # network's day rows under load.
    statistics_roll_up_s: float = Field(default=1.0, gt=0)

    # notifications (issue 13; docs/messages.md). E-mail through an SMTP server, pooled
    # connections; the development default is the sink of `make run` (deploy/messaging.py).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    smtp_pool_size: int = Field(default=4, ge=1, le=64)
    # The provider's rate limit (messages per second), one bucket shared by the replicas: a
    # provider refuses or throttles what goes past its contract.
    smtp_rate_per_s: float = Field(default=2000.0, gt=0)
    mail_from: str = "Comptoir <noreply@comptoir.localhost>"
    # DKIM (RFC 6376): signed when a private key (PEM) is set, with this domain and selector.
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key: str = ""
    # SMS through Kannel's smsbox (sendsms); delivery reports and customers' SMS come back to
    # notifications_url with sms_callback_token (Kannel calls it, not a person).
    sms_sendsms_url: str = "http://127.0.0.1:13103/cgi-bin/sendsms"
    sms_username: str = "comptoir"
    sms_password: str = DEV_SMS_PASSWORD
    sms_sender: str = "Comptoir"
    sms_rate_per_s: float = Field(default=50.0, gt=0)
    sms_callback_token: str = Field(default=DEV_SMS_CALLBACK_TOKEN, min_length=4)
    # The sending job: messages claimed per pass, how often it looks when idle, how long the
    # answers of a pass gather before they are written (one transaction for them all, the
    # SMTP window's length: docs/messages.md), how long a claim lasts, the first retry's delay
    # (doubled each time) and the attempts before failed.
    send_batch: int = Field(default=500, ge=1)
    send_poll_s: float = Field(default=0.5, gt=0)
    send_settle_s: float = Field(default=0.02, gt=0, le=1)
    send_lease_s: float = Field(default=60.0, gt=0)
    send_retry_s: float = Field(default=30.0, gt=0)
    send_max_attempts: int = Field(default=8, ge=1)
    # The webhooks' delivery job (docs/webhooks.md): how often it looks when idle, deliveries
    # claimed per pass, how long a claim lasts, one POST's time limit, POSTs at once, how long a
    # rotated secret still signs, and a CA file to trust beside the system's (a receiver with
    # a private CA; the tests' own).
    webhook_poll_s: float = Field(default=1.0, gt=0)
    webhook_batch: int = Field(default=100, ge=1)
    webhook_lease_s: float = Field(default=60.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_concurrency: int = Field(default=20, ge=1, le=500)
    webhook_rotation_hours: int = Field(default=24, ge=0, le=24 * 30)
    # The first retry's wait after a failed attempt (the next are RETRY_DELAYS' of
    # services/notifications/domain/webhook_retries.py: 1 min, 5 min...).
    webhook_first_retry_s: float = Field(default=5.0, gt=0, le=60)
    webhook_ca_file: str = ""

    # The portal (issue 15, docs/access.md). Its Ed25519 signing key of the scope tokens,
    # "kid:HEX seed" (its public half goes to the services' scope_public_keys); where its
    # pages are reached (the links of its e-mails); the session cookie's Secure flag, which
    # only a development machine on http://localhost may turn off; a session's idle and
    # absolute lifetimes; a password link's and a cardholder's code's lifetimes; the failed
    # sign-ins allowed per account and per client address within the window.
    scope_signing_key: str = DEV_SCOPE_SIGNING_KEY
    portal_url: str = "http://127.0.0.1:8085"
    portal_secure_cookies: bool = True
    session_idle_s: int = Field(default=30 * 60, ge=60)
    session_absolute_s: int = Field(default=12 * 3600, ge=60)
    password_link_s: int = Field(default=24 * 3600, ge=60)
    holder_code_s: int = Field(default=10 * 60, ge=60)
    login_window_s: int = Field(default=15 * 60, ge=1)
    login_max_per_account: int = Field(default=5, ge=1)
    login_max_per_address: int = Field(default=30, ge=1)
    # The reverse proxies in front of the portal (comma-separated addresses or networks): a
    # request from one of them is counted against the client its X-Forwarded-For names, not
    # against the proxy, for the per-address limits. Empty: the TCP peer is the client, and
    # an X-Forwarded-For, which anyone can send, is ignored.
    portal_trusted_proxies: str = ""
    # How long the shop's kiosk shows a presented card's balance before it waits again
    # (docs/kiosk.md): long enough to read it, short enough that the next customer does not.
    kiosk_shown_s: int = Field(default=20, ge=3, le=300)

    # Dates within reason (shared/rules/dates.py): a dated operation (sale, redemption, return,
    # card transaction, donation, adjustment) more than this ahead of our clock is refused (a
    # terminal's clock drifts, a request travels), and one older than the window too (a
    # backdated sale could fall into a promotion or a card's validity; an offline line that old
    # is held in quarantine for a person to decide).
    date_future_tolerance_s: int = Field(default=300, ge=0, le=86_400)
    date_max_age_days: int = Field(default=45, ge=1, le=36_500)

    @model_validator(mode="after")
    def _card_keyring_readable(self) -> Settings:
        if self.card_cert_keys and "card_cert_key" in self.model_fields_set:
            raise ValueError(
                "both COMPTOIR_CARD_CERT_KEY and COMPTOIR_CARD_CERT_KEYS are set: keep the "
                "keyring, with the key of COMPTOIR_CARD_CERT_KEY under its version (1:HEX)"
            )
        self.card_keyring()  # a keyring that cannot be read stops the start, said clearly
        return self

    @model_validator(mode="after")
    def _trusted_proxies_readable(self) -> Settings:
        self.trusted_proxies()  # a mistyped network stops the start, said clearly
        return self

    def trusted_proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(
                ipaddress.ip_network(part.strip(), strict=False)
                for part in self.portal_trusted_proxies.split(",")
                if part.strip()
            )
        except ValueError as e:
            raise ValueError(f"portal_trusted_proxies: {e}") from None

    def service_key(self) -> str:
        return self.service_signing_key or dev_service_key(self.service)

    @model_validator(mode="after")
    def _service_key_its_own(self) -> Settings:
        if self.service_signing_key:
            keys = parse_keys(self.service_signing_key)
            if list(keys) != [f"{SERVICE_KID}{self.service}"]:
                raise ValueError(
                    f"service_signing_key: one key, named {SERVICE_KID}{self.service}:HEX"
                )
        return self

    @model_validator(mode="after")
    def _scope_keys_readable(self) -> Settings:
        if not parse_keys(self.scope_public_keys):
            raise ValueError("scope_public_keys: at least one kid:HEX key")
        return self

    @model_validator(mode="after")
    def _portal_cookies_secure(self) -> Settings:
        if not self.portal_secure_cookies and self.env != "development":
            raise ValueError(
                "portal_secure_cookies: only COMPTOIR_ENV=development (http://localhost) may "
                "send the session cookie without Secure"
            )
        if len(parse_keys(self.scope_signing_key)) != 1:
            raise ValueError("scope_signing_key: one kid:HEX seed")
        return self

    def card_keyring(self) -> Keyring:
        """The certificate masters by key version and the current version."""
        if self.card_cert_keys:
            masters = parse_cert_keyring(self.card_cert_keys)
        else:
            masters = {DEFAULT_KEY_VERSION: bytes.fromhex(self.card_cert_key)}
        return Keyring(masters, current_version(masters, self.card_key_version))

    def date_window(self) -> DateWindow:
        return DateWindow(
            future_tolerance=timedelta(seconds=self.date_future_tolerance_s),
            max_age=timedelta(days=self.date_max_age_days),
        )

    def listen_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.service, 8090)


def load(service: str) -> Settings:
    return Settings(service=service)
