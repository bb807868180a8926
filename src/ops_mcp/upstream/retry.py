"""When to try again, and how long to wait first.

Reads are always safe to repeat. A write is repeated only when it carries an Idempotency-Key
(the server then replays the first result instead of acting twice), or when the server certainly
did not run it (429, an idempotency "still in progress" 409, or a failure before the request was
sent, such as fetching a token).
"""

from __future__ import annotations

import random

from ..records import Frozen, set_fields

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class RetryPolicy(Frozen):
    __slots__ = ("max_attempts", "base_delay_s", "max_delay_s", "max_rate_limit_wait_s")
    max_attempts: int  # attempts per call for errors (429 waits are bounded separately)
    base_delay_s: float
    max_delay_s: float
    # Total time a call may spend waiting for rate-limit slots and 429 resets before it gives up
    # and tells the agent when to retry.
    max_rate_limit_wait_s: float

    def __init__(
        self,
        max_attempts: int = 4,
        base_delay_s: float = 0.2,
        max_delay_s: float = 5.0,
        max_rate_limit_wait_s: float = 20.0,
    ) -> None:
        set_fields(self, max_attempts=max_attempts, base_delay_s=base_delay_s, max_delay_s=max_delay_s,
                   max_rate_limit_wait_s=max_rate_limit_wait_s)

    def backoff(
        self, retry_number: int, rng: random.Random | None = None, retry_after_s: float | None = None
    ) -> float:
        """Exponential backoff with full jitter; ``retry_number`` starts at 1.

        Full jitter (a uniform draw in [0, cap]) keeps many clients that failed together from
        retrying together. A server's Retry-After is a floor, within ``max_delay_s``.
        """
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (retry_number - 1)))
        delay = (rng or random).uniform(0, cap)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_delay_s))
        return delay


def retry_allowed(is_read: bool, has_key: bool) -> bool:
    """May this call be repeated after the request may have reached the server?"""
    return is_read or has_key
