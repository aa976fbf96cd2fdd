"""The cards service's event handlers: one per fact it consumes, each a use case run on a
batch of events in one transaction (shared/consumer.py). The subscription is declared here,
once: the handler table's keys are the facts the service's queue binds."""

from __future__ import annotations

from functools import partial

from services.cards import partners
from services.cards.service import enrolments, offline, returns, sales
from shared.consumer import Handler
from shared.contracts import (
    CardTransactionsSynced,
    EnrolmentRequested,
    PartnerRegistered,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.events import EventData
from shared.service import Runtime


def handlers(rt: Runtime) -> dict[type[EventData], Handler]:
    # the window of dates within reason is a setting (shared/rules/dates.py)
    window = rt.settings.date_window()
    return {
        SaleRecorded: partial(sales.on_sales, window=window),
        RedemptionRequested: partial(sales.on_redemptions, window=window),
        EnrolmentRequested: enrolments.on_enrolments,
        ReturnRecorded: partial(returns.on_returns, window=window),
        CardTransactionsSynced: offline.handler(rt.settings),
        PartnerRegistered: partners.on_partners,
    }
