"""crm's pure rules: ``visits`` (the visit history and its counters), ``people`` (the customer
file: its fields, what is still "à remplir", what changed), ``consent`` (who may receive
which marketing message), ``tokens`` (the signed links of the public routes)."""

from services.crm.domain.visits import (
    Cancellation,
    Counted,
    CustomerCard,
    Enrolment,
    Tally,
    Visit,
    by_customer,
    by_merchant,
    counted,
    one_per_cancelled_sale,
    one_per_sale,
    tally,
)

__all__ = [
    "Cancellation",
    "Counted",
    "CustomerCard",
    "Enrolment",
    "Tally",
    "Visit",
    "by_customer",
    "by_merchant",
    "counted",
    "one_per_cancelled_sale",
    "one_per_sale",
    "tally",
]
