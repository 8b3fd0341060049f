"""Failed sign-ins: at most 5 per (account, client address) in 15 minutes, then 429 until the window moves."""

from __future__ import annotations

from limits import RateLimitItemPerMinute

from runtime.ratelimit import seconds_until_allowed, shared_limiter

FAILURES_ALLOWED = RateLimitItemPerMinute(5, 15, namespace="trellis-login")


class TooManyFailures(Exception):
    """Too many failed sign-ins for this account from this address; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
        self.retry_after = retry_after


def check_not_locked_out(storage_url: str | None, email: str, address: str) -> None:
    """Raise `TooManyFailures` when this account has failed too often from this address lately."""
    limiter = shared_limiter(storage_url)
    if not limiter.test(FAILURES_ALLOWED, email, address):
        raise TooManyFailures(seconds_until_allowed(limiter, FAILURES_ALLOWED, email, address))


def count_failure(storage_url: str | None, email: str, address: str) -> None:
    """Count one failed sign-in for this account from this address."""
    shared_limiter(storage_url).hit(FAILURES_ALLOWED, email, address)
