"""Versioned contracts of the events the services exchange. Money is in integer cents.

One module per conversation: ``till`` (a till's requests and cards' answers to it),
``accounts`` (accounts, cards, merchants, partners, terminal parameters), ``offline``
(chip-card transactions synced), ``booked`` (a sale or redemption booked, whatever its
origin), ``books`` (statements; dead letters), ``messages`` (what notifications sends and
hears back), ``people`` (crm's changes and erasures of personal data, consents), ``levels``
(customers' status levels), ``sponsorship`` (the rewards crm decides and cards credits),
``statistics`` (a sale without a member). Importing the package registers every event
(``shared.events.register``)."""

from shared.contracts.accounts import (
    AccountAdjusted,
    AccountDetailsCorrected,
    AccountHolderRenamed,
    AccountOpened,
    BlacklistChanged,
    CardIssued,
    MerchantRegistered,
    PartnerRegistered,
    TerminalParametersPublished,
)
from shared.contracts.base import (
    MAX_QUANTITY,
    MAX_SALE_CENTS,
    AtTerminal,
    Cents,
    Holder,
    Instant,
    Purse,
)
from shared.contracts.booked import BookedTransaction, TransactionsBooked
from shared.contracts.books import EventDeadLettered, MonthlyStatementReady
from shared.contracts.levels import LevelChanged
from shared.contracts.messages import (
    Attachment,
    MessageRequested,
    MessageStatusChanged,
    OptOutReceived,
)
from shared.contracts.offline import (
    CARD_SALE_NAMESPACE,
    CardTransaction,
    CardTransactionsSynced,
    card_transaction_id,
)
from shared.contracts.people import ConsentChanged, CustomerDetailsChanged, CustomerErased
from shared.contracts.sponsorship import (
    SponsorshipReversalDone,
    SponsorshipReversalRefused,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
)
from shared.contracts.statistics import AnonymousSaleRecorded
from shared.contracts.till import (
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    EnrolmentRequested,
    RedemptionRefused,
    RedemptionRequested,
    RefusalReason,
    ReturnRecorded,
    ReturnRefused,
    RewardReversed,
    RuleRefusal,
    SaleRecorded,
    SaleRefused,
)

__all__ = [
    "CARD_SALE_NAMESPACE",
    "MAX_QUANTITY",
    "MAX_SALE_CENTS",
    "AccountAdjusted",
    "AccountDetailsCorrected",
    "AccountHolderRenamed",
    "AccountOpened",
    "AnonymousSaleRecorded",
    "AtTerminal",
    "Attachment",
    "BlacklistChanged",
    "BookedTransaction",
    "CagnotteCredited",
    "CagnotteRedeemed",
    "CardIssued",
    "CardTransaction",
    "CardTransactionsSynced",
    "Cents",
    "ConsentChanged",
    "CustomerDetailsChanged",
    "CustomerErased",
    "EnrolmentRefused",
    "EnrolmentRequested",
    "EventDeadLettered",
    "Holder",
    "Instant",
    "LevelChanged",
    "MerchantRegistered",
    "MessageRequested",
    "MessageStatusChanged",
    "MonthlyStatementReady",
    "OptOutReceived",
    "PartnerRegistered",
    "Purse",
    "RedemptionRefused",
    "RedemptionRequested",
    "RefusalReason",
    "ReturnRecorded",
    "ReturnRefused",
    "RewardReversed",
    "RuleRefusal",
    "SaleRecorded",
    "SaleRefused",
    "SponsorshipReversalDone",
    "SponsorshipReversalRefused",
    "SponsorshipRewardGranted",
    "SponsorshipRewardReversed",
    "TerminalParametersPublished",
    "TransactionsBooked",
    "card_transaction_id",
]
