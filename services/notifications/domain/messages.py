"""A message's life, pure: where a requested message stands, what a provider's answer makes of
it, when it is tried again.

    queued ──claim──▶ sending ──250──▶ sent ──report──▶ delivered
       ▲  ▲              │ 4xx, timeout (attempts left): queued again, later
    deferred (hours)     │ 5xx, or the last attempt: failed (with the reason)

``sending`` is a claim with a lease: a sender that dies with it leaves the message to be taken
again when the lease ends (docs/messages.md says what that means for the SMTP window)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

Status = Literal["queued", "deferred", "sending", "sent", "delivered", "failed"]
# The statuses the contract publishes (MessageStatusChanged): ``sending`` is our own.
PUBLISHED: frozenset[str] = frozenset({"deferred", "sent", "delivered", "failed"})
MAX_BACKOFF = timedelta(hours=6)


class Answer(NamedTuple):
    """What a provider said to one message: ``temporary`` (try again later) or not; ``ok``
    with its id for the message, or the reason."""

    ok: bool
    temporary: bool
    provider_id: str | None
    reason: str | None


def claim_size(batch: int, rate_per_s: float, lease_s: float, passes: int) -> int:
    """How many messages of a channel each of ``passes`` concurrent passes claims: together,
    no more than the channel's rate limit lets out in half a lease. A claim bigger than that
    outlives its lease while it waits for the rate limit, and another pass (or replica) takes
    the rest again: sent twice (an SMS at 5/s with claims of 500 and a 60 s lease)."""
    return max(1, min(batch, int(rate_per_s * lease_s / (2 * passes))))


def accepted(provider_id: str | None) -> Answer:
    return Answer(True, False, provider_id, None)


def refused(reason: str, temporary: bool) -> Answer:
    return Answer(False, temporary, None, reason[:1000])


def smtp_answer(code: int, text: str) -> Answer:
    """An SMTP reply (RFC 5321): 2xx accepted, 4xx temporary, 5xx permanent."""
    if 200 <= code < 300:
        return accepted(text.strip()[:200] or None)
    return refused(f"smtp {code} {text.strip()}", temporary=400 <= code < 500)


def backoff(attempts: int, first: timedelta) -> timedelta:
    """The wait before attempt ``attempts + 1``: doubled each time, at most MAX_BACKOFF."""
    return min(first * (1 << min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


class Next(NamedTuple):
    """The message's status after an answer, and when it may be tried again."""

    status: Status
    due_at: datetime | None
    provider_id: str | None
    reason: str | None


def after(
    answer: Answer, attempts: int, max_attempts: int, now: datetime, first: timedelta
) -> Next:
    """``attempts``: how many times it was tried, this one included."""
    if answer.ok:
        return Next("sent", None, answer.provider_id, None)
    if answer.temporary and attempts < max_attempts:
        return Next("queued", now + backoff(attempts, first), None, answer.reason)
    reason = (
        answer.reason
        if not answer.temporary
        else f"gave up after {attempts} attempts: {answer.reason}"
    )
    return Next("failed", None, None, reason)


def dlr_status(kannel_status: int) -> Status | None:
    """A Kannel delivery report's type (``%d``): 1 delivered, 2 and 16 failed (the phone or the
    operator refused it), 4 and 8 intermediate (buffered, accepted by the operator)."""
    if kannel_status == 1:
        return "delivered"
    if kannel_status in (2, 16):
        return "failed"
    return None


STOP_WORDS = frozenset({"STOP", "STOPSMS", "ARRET", "ARRÊT", "UNSUBSCRIBE"})


def is_stop(text: str) -> str | None:
    """The opt-out keyword a customer's SMS starts with (``STOP``, ``stop``, ``Stop SMS``…)."""
    words = text.strip().upper().replace(" ", "")
    for word in sorted(STOP_WORDS, key=len, reverse=True):
        if words.startswith(word):
            return word
    return None
