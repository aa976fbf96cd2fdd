"""The registry of offline terminals, for the back office: each terminal's sync state and
its health, built from what the database holds (adapters/sync_sessions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, RootModel

LATE_AFTER_S = 36 * 3600
Health = Literal["ok", "late", "failing"]


class LastSession(BaseModel):
    id: UUID
    transport: Literal["http", "line"]
    status: Literal["open", "ok", "mismatch", "failed", "abandoned"]
    started_at: datetime
    closed_at: datetime | None
    chunks: int
    inserted: int
    skipped: int
    missing: list[list[int]] = Field(description="inclusive ranges the close found missing")
    error_code: str | None


class SyncRegistryEntry(BaseModel):
    terminal_id: UUID
    label: str
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    active: bool
    health: Health = Field(
        description="failing: the last session failed, mismatched or was cut off; late: no "
        "successful sync for 36 h (or never)"
    )
    last_sync_at: datetime | None = Field(description="the last session that closed ok")
    last_hello_at: datetime | None
    last_committed_seq: int
    committed_total: int
    pending_count: int = Field(description="journal lines the terminal holds and we do not")
    software: str | None
    params_version: int | None = Field(description="as the terminal said at its last HELLO")
    blacklist_version: int | None
    delivered_params_version: int | None
    delivered_blacklist_version: int | None
    last_session: LastSession | None


class SyncRegistry(RootModel[list[SyncRegistryEntry]]):
    pass


def health(
    status: str | None, abandoned: bool | None, last_sync_at: datetime | None, now: datetime
) -> Health:
    if status in ("mismatch", "failed") or abandoned:
        return "failing"
    if last_sync_at is None or (now - last_sync_at).total_seconds() > LATE_AFTER_S:
        return "late"
    return "ok"


def entry(r: Mapping[str, Any], now: datetime) -> SyncRegistryEntry:
    """One terminal's line of the registry, from its row (sessions' columns may be null)."""
    session = None
    if r["session_id"] is not None:
        session = LastSession(
            id=r["session_id"],
            transport=r["transport"],
            status="abandoned" if r["abandoned"] else r["status"],
            started_at=r["started_at"],
            closed_at=r["closed_at"],
            chunks=r["chunks"],
            inserted=r["inserted"],
            skipped=r["skipped"],
            missing=r["missing"] or [],
            error_code=r["error_code"],
        )
    return SyncRegistryEntry(
        terminal_id=r["terminal_id"],
        label=r["label"],
        association_id=r["association_id"],
        merchant_id=r["merchant_id"],
        shop_id=r["shop_id"],
        active=r["active"],
        health=health(r["status"], r["abandoned"], r["last_sync_at"], now),
        last_sync_at=r["last_sync_at"],
        last_hello_at=r["last_hello_at"],
        last_committed_seq=r["last_committed_seq"] or 0,
        committed_total=r["committed_total"] or 0,
        pending_count=r["pending_count"] or 0,
        software=r["software"],
        params_version=r["params_version"],
        blacklist_version=r["blacklist_version"],
        delivered_params_version=r["delivered_params_version"],
        delivered_blacklist_version=r["delivered_blacklist_version"],
        last_session=session,
    )
