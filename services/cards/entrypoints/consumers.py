"""The cards service's event handlers: one per fact it consumes, each a use case run on a
batch of events in one transaction (shared/consumer.py). The subscription is declared here,
once: the handler table's keys are the facts the service's queue binds."""

from __future__ import annotations

from functools import partial

from services.cards.service import (
    enrolments,
    offline,
    partners,
    people,
    returns,
    sales,
    sponsorship,
)
from shared.contracts import (
    CardTransactionsSynced,
    CustomerDetailsChanged,
    CustomerErased,
    EnrolmentRequested,
    PartnerRegistered,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
)
from shared.rules.dates import DateWindow
from shared.service import Runtime, Subscriptions, always


def _window(rt: Runtime) -> DateWindow:
    # the window of dates within reason is a setting (shared/rules/dates.py)
    return rt.settings.date_window()


SUBSCRIPTIONS = Subscriptions(
    "cards.events",
    {
        SaleRecorded: lambda rt: partial(sales.on_sales, window=_window(rt)),
        RedemptionRequested: lambda rt: partial(sales.on_redemptions, window=_window(rt)),
        EnrolmentRequested: always(enrolments.on_enrolments),
        ReturnRecorded: lambda rt: partial(returns.on_returns, window=_window(rt)),
        CardTransactionsSynced: lambda rt: offline.handler(rt.settings),
        PartnerRegistered: always(partners.on_partners),
        CustomerDetailsChanged: always(people.on_details_changed),
        CustomerErased: always(people.on_erased),
        SponsorshipRewardGranted: always(sponsorship.on_rewards),
        SponsorshipRewardReversed: always(sponsorship.on_reversals),
    },
)
