"""A dependency-free progress line with rate and ETA, for long training steps on stderr."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """``Progress(total, label)``; ``update(n)``; ``close()``. Redraws at most twice a second."""

    def __init__(self, total: int, label: str, stream=None) -> None:  # noqa: ANN001
        self.total, self.label, self.done = max(1, total), label, 0
        self.stream = stream or sys.stderr
        self.start = self._last = time.monotonic()
        self.tty = getattr(self.stream, "isatty", lambda: False)()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= (0.5 if self.tty else 30.0) or self.done >= self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * min(1.0, self.done / self.total))
        line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{rate:.1f}/s ETA {format_seconds(eta)}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._draw(time.monotonic())
        if self.tty:
            self.stream.write("\n")
        elapsed = time.monotonic() - self.start
        self.stream.write(f"{self.label}: {self.done} in {format_seconds(elapsed)}\n")
        self.stream.flush()
