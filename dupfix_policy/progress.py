"""One progress display for long reads: a single redrawn stderr line, on a terminal only.

Shown only when stderr is a terminal and `--quiet` is not given, so progress never mixes with a
report on stdout or a log a script parses; redrawn at most five times a second. The Graph scan
(`sources/graph/progress.py`) and the audit's scan of every source (`audit/collect.py`) say what
they count; drawing, throttling and the last line are this module's.
"""

from __future__ import annotations

import sys
import time
from typing import IO

REDRAW_S = 0.2


class LineProgress:
    """The shared mechanics: `draw(text)` redraws the line, `close(text)` leaves it standing."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None):
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self._drawn = 0.0
        self._shown = False

    @staticmethod
    def wanted(quiet: bool, stream: IO[str] | None = None) -> bool:
        """A terminal, and no `--quiet`."""
        stream = stream if stream is not None else sys.stderr
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        return tty and not quiet

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-6)

    def draw(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._shown = True

    def close(self, text: str) -> None:
        """Leave the final numbers on their own line (only if anything was drawn)."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K" + text + "\n")
            self.stream.flush()
            self._shown = False
