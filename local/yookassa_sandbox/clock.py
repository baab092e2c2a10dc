"""The emulator's clock: real time, optionally running faster, plus a manual offset.

Everything time-dependent (``created_at``, expiry, idempotency windows, webhook redelivery) reads this
clock, so a test can jump hours ahead with ``POST /sandbox/clock`` instead of sleeping.
With ``time_scale = N`` emulated time runs N times faster than real time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

__all__ = ["Clock", "format_ms", "parse_iso_ms"]


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        self._anchor_wall_ms = 0.0
        self._anchor_mono = 0.0
        self._offset_ms = 0
        self._last = 0
        self.reset()

    def reset(self, offset_ms: int = 0) -> None:
        """Back to real time (plus ``offset_ms``)."""
        with self._lock:
            self._anchor_wall_ms = time.time() * 1000.0
            self._anchor_mono = time.monotonic()
            self._offset_ms = int(offset_ms)
            self._last = 0

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch on the emulator's clock (never goes backwards)."""
        with self._lock:
            elapsed_ms = (time.monotonic() - self._anchor_mono) * 1000.0 * self.time_scale
            now = int(self._anchor_wall_ms + elapsed_ms) + self._offset_ms
            self._last = max(now, self._last)
            return self._last

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset_ms += round(seconds * 1000)
        return self.now_ms()

    def offset_ms(self) -> int:
        """How far the emulator's clock is ahead of real time (for the state file)."""
        return self.now_ms() - int(time.time() * 1000)

    def real_seconds(self, emulated_ms: float) -> float:
        """Real seconds that ``emulated_ms`` of emulator time take."""
        return emulated_ms / 1000.0 / self.time_scale

    def iso(self) -> str:
        return format_ms(self.now_ms())


def format_ms(ms: int) -> str:
    """``2018-07-18T10:51:18.139Z`` — YooKassa's timestamp format (UTC, milliseconds)."""
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def parse_iso_ms(text: str) -> int:
    """ISO 8601 (``Z`` or an offset; naive means UTC) to epoch milliseconds. Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty timestamp")
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    delta = value - epoch
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
