"""The errors a user can cause or meet, each with the exit code the CLI gives it (docs/cli.md "Exit codes")."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Location

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_STATE_UNAVAILABLE = 3
EXIT_INTERNAL = 4


@dataclass
class DupfixError(Exception):
    """Base for errors meant for people: one message naming where and what to do."""

    message: str
    location: Location | None = None
    field: str | None = None
    hint: str | None = None

    exit_code = EXIT_INTERNAL

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}:")
        if self.field:
            parts.append(f"{self.field}:")
        parts.append(self.message)
        text = " ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return text


class UserInputError(DupfixError):
    """Bad file, schema violation, bad flag or config: exit 2."""

    exit_code = EXIT_BAD_INPUT


class StateUnavailableError(DupfixError):
    """Live state could not be read (auth, network, throttling, stale cache): exit 3, never a pass."""

    exit_code = EXIT_STATE_UNAVAILABLE


class PluginLoadError(UserInputError):
    """A third-party plugin failed to import or register: named, so the user knows what to remove."""


class PluginError(DupfixError):
    """A plugin's hook raised: exit 4, naming the plugin (and its distribution) so the user knows
    whose bug it is; no finding from the failed run is reported."""

    exit_code = EXIT_INTERNAL


class DeltaExpired(Exception):
    """A source's incremental state (a Graph delta link, a DirSync cookie) is no longer valid: the
    state cache rebuilds in full and says so. Raised by `interfaces.DeltaSource.delta`."""
