"""Typed settings read from the environment (prefix ``COMPTOIR_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {
    "terminals": 8080,
    "cards": 8081,
    "clearing": 8082,
    "crm": 8083,
    "notifications": 8084,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPTOIR_", extra="ignore")

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
    admin_token: str = Field(default="dev-admin-token", min_length=8)
    # How long the gateway waits for the cards service's verdict before answering 202.
    outcome_timeout_s: float = 5.0
    # Signed terminal requests older or newer than this are refused (clock skew + replay window).
    signature_window_s: int = 300
    shutdown_grace_s: float = 10.0
    # The gateway's raw TCP line for terminals' sync sessions (modem-style framing); 0: off.
    sync_line_port: int = 8070
    # The cards service's master key for card certificates (hex, 16 bytes); the default is
    # the development key of the demo and the tests: a real network sets its own.
    card_cert_key: str = Field(
        default="ce27ce27ce27ce27ce27ce27ce27ce27", pattern=r"^[0-9a-fA-F]{32}$"
    )
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

    def listen_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.service, 8090)


def load(service: str) -> Settings:
    return Settings(service=service)
