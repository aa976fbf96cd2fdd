"""crm's use cases: ``visits`` (the events of sales and accounts), ``customers`` (the customer
file and its public form), ``consents`` (double opt-in, withdrawal, the marketing gate),
``rights`` (GDPR access, erasure, retention)."""
