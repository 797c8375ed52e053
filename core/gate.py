"""The password gate's rules, without Streamlit: which bind addresses are loopback, and how
failed passwords slow down.

``ui/auth.py`` applies them to every browser session; ``run.sh`` checks the same three loopback
names before it starts (its ``is_loopback`` in env.sh; a test keeps the two lists equal).

    is_loopback("127.0.0.1")          -> True;  is_loopback("127.evil.example") -> False
    throttle = LoginThrottle()
    wait = throttle.wait_before("session-a")   # seconds to hold this attempt before checking it
    throttle.failed("session-a")               # after a wrong password: the next waits longer
"""
from __future__ import annotations

import threading
import time
from typing import Callable

# Exactly these: "127.anything" is a hostname an attacker can register, not an address.
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
PASSWORD_ENV = "WORKBENCH_PASSWORD"


def is_loopback(host: str | None) -> bool:
    """True only for the loopback names themselves; "" / 0.0.0.0 / :: mean every interface."""
    return (host or "").strip() in LOOPBACK_HOSTS


class LoginThrottle:
    """Growing delays after failed passwords, per session and for the whole server.

    A session that failed ``n`` times waits ``base * 2**(n-1)`` seconds (at most ``cap``) before its
    next attempt is even checked. Every failure anywhere also spaces out all attempts: after
    ``global_free`` failures within ``window`` seconds, attempts are admitted one at a time, each
    ``base * 2**k`` seconds after the previous one (k grows with every further ``global_free``
    failures), so opening new sessions does not reset the clock. A success clears its session.
    """

    def __init__(self, base: float = 1.0, cap: float = 30.0, global_free: int = 5, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic):
        self.base, self.cap, self.global_free, self.window, self.clock = base, cap, global_free, window, clock
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[int, float]] = {}  # session -> (failures, time of the last one)
        self._failures: list[float] = []  # times of recent failures, any session
        self._next_slot = 0.0  # earliest time the next attempt may be checked (global spacing)

    def _delay(self, n: int) -> float:
        return 0.0 if n <= 0 else min(self.cap, self.base * 2 ** (n - 1))

    def wait_before(self, session: str) -> float:
        """Seconds this attempt must wait before the password is compared (reserves its slot)."""
        with self._lock:
            now = self.clock()
            self._failures = [t for t in self._failures if now - t < self.window]
            count, last = self._sessions.get(session, (0, now))
            session_wait = max(0.0, last + self._delay(count) - now)
            spacing = self._delay(len(self._failures) // self.global_free)
            if spacing <= 0:
                return session_wait
            slot = max(now + session_wait, self._next_slot)
            self._next_slot = slot + spacing
            return slot - now

    def failed(self, session: str) -> int:
        """Record a wrong password; returns the session's number of failures so far."""
        with self._lock:
            now = self.clock()
            count = self._sessions.get(session, (0, now))[0] + 1
            self._sessions[session] = (count, now)
            self._failures.append(now)
            return count

    def succeeded(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)
