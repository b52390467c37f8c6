"""Per-user rate limit: one user flooding the bot cannot starve the others.

A sliding window of `period` seconds admits `rate` updates per user. The first
update over the limit gets one "slow down" reply (verdict WARN); the rest of the
flood is dropped silently (DROP) until the window frees a slot again.

Memory: a user not seen for `period` seconds is forgotten (their window is empty anyway),
and at most `max_users` are kept (the least recently seen go first): about 300 bytes each.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

MAX_USERS = 2_000
"""Users remembered at most (0.6 MB). A flooder is always among the most recently seen, so it is forgotten only if
2,000 other users write between two of its messages: to go over the limit it writes at least every 3 s, and 2,000
new users in 3 s is 22 times what the bot can answer (Telegram's 30 messages a second). 10,000 cost 3 MB after a
wave of new users (`python -m benchmarks.memory_users`), 50,000 15 MB, for no more protection."""


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"
    DROP = "drop"


@dataclass(slots=True)
class _User:
    seen: float
    times: list[float] = field(default_factory=list)
    """Admitted updates in the window, oldest first (at most `rate`)."""
    warned: bool = False


class UserRateLimiter:
    """Admits at most `rate` updates per user per `period` seconds."""

    def __init__(self, rate: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic, max_users: int = MAX_USERS) -> None:
        if rate < 1 or period <= 0:
            raise ValueError("rate must be >= 1 and period > 0")
        self.rate = rate
        self.period = period
        self._clock = clock
        self._max_users = max_users
        self._users: OrderedDict[int, _User] = OrderedDict()

    def check(self, user_id: int) -> Verdict:
        """Count one update of `user_id` and say what to do with it."""
        now = self._clock()
        self._expire(now)
        user = self._users.pop(user_id, None) or _User(now)
        user.seen = now
        self._users[user_id] = user
        while len(self._users) > self._max_users:
            self._users.popitem(last=False)
        if user.times and now - user.times[0] >= self.period:
            user.times = [t for t in user.times if now - t < self.period]
        if len(user.times) < self.rate:
            user.times.append(now)
            user.warned = False
            return Verdict.ALLOW
        if not user.warned:
            user.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def __len__(self) -> int:
        """Users currently remembered."""
        return len(self._users)

    def _expire(self, now: float) -> None:
        """Forget the users not seen for a whole period (the least recently seen come first)."""
        while self._users:
            user = next(iter(self._users.values()))
            if now - user.seen < self.period:
                return
            self._users.popitem(last=False)

    def retry_in(self, user_id: int) -> float:
        """Seconds until `user_id` may send again (0 if now)."""
        user = self._users.get(user_id)
        if user is None or len(user.times) < self.rate:
            return 0.0
        return max(0.0, user.times[0] + self.period - self._clock())
