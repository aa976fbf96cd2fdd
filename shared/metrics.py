"""The Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

http_requests = Counter(
    "comptoir_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
http_duration = Histogram(
    "comptoir_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=_LATENCY,
)
events_handled = Counter(
    "comptoir_events_handled_total",
    "Events consumed, by outcome (processed, duplicate, dead_lettered, skipped)",
    ["service", "type", "outcome"],
)
handler_duration = Histogram(
    "comptoir_message_handler_duration_seconds",
    "Time to handle one broker message (a batch of events) in one transaction",
    ["service", "queue"],
    buckets=_LATENCY,
)
handler_errors = Counter(
    "comptoir_message_handler_errors_total",
    "Handler failures, by kind (transient: retried, poison: dead-lettered)",
    ["service", "queue", "kind"],
)
dead_lettered = Counter(
    "comptoir_dead_lettered_total", "Events sent to the dead-letter exchange", ["service", "reason"]
)
outbox_backlog = Gauge(
    "comptoir_outbox_backlog", "Events written to the outbox and not yet confirmed", ["service"]
)
outbox_published = Counter(
    "comptoir_outbox_published_total", "Events published with a broker confirm", ["service"]
)
outbox_publish_failures = Counter(
    "comptoir_outbox_publish_failures_total", "Relay publish attempts that failed", ["service"]
)
card_anomalies = Counter(
    "comptoir_card_anomalies_total",
    "Anomalies found in the transactions chip cards certified offline (clone, broken_chain, "
    "atc_gap, reward_mismatch, bad_certificate, unknown_key_version, unknown_card...): an "
    "alert on clone",
    ["kind"],
)
card_quarantined = Counter(
    "comptoir_card_quarantined_total",
    "Offline card transactions held in quarantine instead of booked, per reason (a line held "
    "for two reasons counts under each); an alert on bad_certificate and unknown_key_version",
    ["reason"],
)
card_lines_unaccounted = Gauge(
    "comptoir_card_lines_unaccounted",
    "Card transactions the gateway acknowledged that cards has neither booked nor held, at "
    "the last reconciliation (0 when every acknowledged line is accounted for)",
)
webhook_attempts = Counter(
    "comptoir_webhook_attempts_total",
    "Webhook POSTs, by what they settled (delivered, pending: to try again, failed: given up "
    "after a day); an alert on failed",
    ["outcome"],
)
webhook_duration = Histogram(
    "comptoir_webhook_attempt_duration_seconds",
    "Time of one webhook POST, answered or not",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
referral_code_checks = Counter(
    "comptoir_referral_code_checks_total",
    "Referral codes given at the till asked of crm by the gateway, by answer (held, unknown: "
    "refused to the till, unanswered: crm down, slow past its bound or failing, the enrolment "
    "let through unchecked); an alert on a rise of unanswered",
    ["outcome"],
)
