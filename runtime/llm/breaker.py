"""Circuit breakers per model server: stop calling a server that keeps failing, try again later.

State lives in this process: it spans the model calls of one run (an agent's turns, a loop's
items) and, in the in-process executor, every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class CircuitBreaker:
    """Opens after `threshold` outages in a row; after `cooldown_s` lets one trial call through."""

    threshold: int
    cooldown_s: float
    failures: int = 0
    opened_at: float | None = None

    def admit(self) -> float:
        """0 when a call may go ahead; otherwise the seconds until a trial call will be let through."""
        if self.opened_at is None:
            return 0.0
        remaining = self.opened_at + self.cooldown_s - time.monotonic()
        if remaining > 0:
            return remaining
        # Half-open: this call is the trial; others wait another cool-down unless it succeeds.
        self.opened_at = time.monotonic()
        return 0.0

    def record(self, *, outage: bool) -> None:
        """Count a finished call: an outage (5xx, timeout, no connection) or an answer."""
        if not outage:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class Breakers:
    """One `CircuitBreaker` per base URL, created on first use."""

    def __init__(self, threshold: int = 5, cooldown_s: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._by_url: dict[str, CircuitBreaker] = {}

    def __call__(self, base_url: str) -> CircuitBreaker:
        """The breaker guarding `base_url`."""
        if base_url not in self._by_url:
            self._by_url[base_url] = CircuitBreaker(self.threshold, self.cooldown_s)
        return self._by_url[base_url]


BREAKERS = Breakers()
"""The breakers every node in this process shares."""
