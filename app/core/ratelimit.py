"""Attempt limits per key (a client id, a remote address), in process memory.

Built on `limits` (the library behind slowapi and Flask-Limiter): a moving window of
`burst / per_second` seconds holds at most `burst` attempts, so a client may make `burst`
attempts at once and then `per_second` a second on average. Each process keeps its own
counts: with N replicas a key gets at most N times the limit, which is enough to stop a
flood from slowing every other endpoint (the purpose here) without a shared store.
"""

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class AttemptLimit:
    def __init__(self, name: str, per_second: float, burst: int):
        self.name = name
        window = max(1, round(burst / per_second))
        self._item = RateLimitItemPerSecond(burst, window)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Count one attempt for `key`; None when it is within the limit, else the whole
        seconds until an attempt would be (at least 1)."""
        if self._limiter.hit(self._item, self.name, key):
            return None
        reset_at = self._limiter.get_window_stats(self._item, self.name, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))
