"""A one-line progress display on stderr for long Graph reads (objects, pages, rate, throttling).

Shown only when stderr is a terminal and `--quiet` is not given: a CI log or a pipe gets nothing,
so progress never mixes with a report on stdout or a log a script parses. Redrawn at most a few
times a second, because a 100k-object scan reads a hundred pages a second.
"""

from __future__ import annotations

import sys
import time
from typing import IO

REDRAW_S = 0.2


class Progress:
    def __init__(self, enabled: bool, stream: IO[str] | None = None, label: str = "graph"):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.label = label
        self.started = time.monotonic()
        self.objects = 0
        self.pages = 0
        self.requests = 0
        self.throttled_s = 0.0
        self._drawn = 0.0
        self._shown = False

    @classmethod
    def for_terminal(cls, quiet: bool, stream: IO[str] | None = None) -> Progress:
        stream = stream if stream is not None else sys.stderr
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        return cls(enabled=tty and not quiet, stream=stream)

    def request(self) -> None:
        self.requests += 1
        self._maybe_draw()

    def page(self, objects: int) -> None:
        self.pages += 1
        self.objects += objects
        self._maybe_draw()

    def throttled(self, seconds: float) -> None:
        self.throttled_s += seconds
        self._maybe_draw(force=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        # A scan counts objects and pages; point look-ups only requests.
        parts = [f"{self.objects:,} objects", f"{self.pages:,} pages"] if self.pages else []
        parts.append(f"{self.requests:,} requests")
        if self.objects:
            parts.append(f"{self.objects / elapsed:,.0f} objects/s")
        if self.throttled_s:
            parts.append(f"throttled {self.throttled_s:.0f} s")
        return f"{self.label}: " + ", ".join(parts)

    def _maybe_draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        """Leave the final numbers on their own line (only if anything was drawn)."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K" + self.line() + "\n")
            self.stream.flush()
            self._shown = False
