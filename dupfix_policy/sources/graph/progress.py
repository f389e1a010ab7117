"""A one-line progress display on stderr for long Graph reads (objects, pages, rate, throttling).

Shown only when stderr is a terminal and `--quiet` is not given: a CI log or a pipe gets nothing,
so progress never mixes with a report on stdout or a log a script parses. Redrawn at most a few
times a second, because a 100k-object scan reads a hundred pages a second.
"""

from __future__ import annotations

from typing import IO

from ...progress import LineProgress


class Progress(LineProgress):
    """Objects, pages, requests, rate and time spent throttled, for Graph reads."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None, label: str = "graph"):
        super().__init__(enabled, stream)
        self.label = label
        self.objects = 0
        self.pages = 0
        self.requests = 0
        self.throttled_s = 0.0

    @classmethod
    def for_terminal(cls, quiet: bool, stream: IO[str] | None = None) -> Progress:
        return cls(enabled=cls.wanted(quiet, stream), stream=stream)

    def request(self) -> None:
        self.requests += 1
        self.draw(self.line())

    def page(self, objects: int) -> None:
        self.pages += 1
        self.objects += objects
        self.draw(self.line())

    def throttled(self, seconds: float) -> None:
        self.throttled_s += seconds
        self.draw(self.line(), force=True)

    def line(self) -> str:
        # A scan counts objects and pages; point look-ups only requests.
        parts = [f"{self.objects:,} objects", f"{self.pages:,} pages"] if self.pages else []
        parts.append(f"{self.requests:,} requests")
        if self.objects:
            parts.append(f"{self.objects / self.elapsed():,.0f} objects/s")
        if self.throttled_s:
            parts.append(f"throttled {self.throttled_s:.0f} s")
        return f"{self.label}: " + ", ".join(parts)

    def finish(self) -> None:
        self.close(self.line())
