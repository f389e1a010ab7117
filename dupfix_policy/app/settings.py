"""Settings every command resolves the same way: flags over environment over `.dupfix.yaml`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from ..errors import UserInputError
from ..model import Location


@dataclass(frozen=True)
class Settings:
    sources: tuple[str, ...]
    policy: str | None
    fail_on: str
    formats: tuple[str, ...]
    graph_url: str | None
    base_dir: str
    timeout: float | None = None  # --timeout: live sources' total time budget, in seconds
    quiet: bool = False  # --quiet: no progress display
    debug: bool = False  # --debug: live sources log their requests (secrets redacted)
    plan_options: dict[str, Any] | None = None  # what plan loaders read: column mappings, csv, --tf-root
    cache: str | None = None  # sync --cache / config `cache`: the state cache file
    max_age: float | None = None  # --max-age: oldest cache:PATH state accepted, in seconds
    refresh: bool = False  # --refresh: sync cache:PATH sources first
    strict_inputs: bool = False  # --strict-inputs: what would be a note about an input's completeness fails
    sync: dict[str, Any] | None = None  # `.dupfix.yaml` sync: the tenant's Entra Connect set-up
    naming: dict[str, Any] | None = None  # `.dupfix.yaml` naming: conventions for --suggest / fix
    naming_location: Location | None = None


def resolve(args: argparse.Namespace) -> Settings:
    """Flags over environment over `.dupfix.yaml` (docs/cli.md "Config and policy")."""
    from ..config import resolve_settings

    flags = {
        "config": getattr(args, "config", None),
        "sources": getattr(args, "source", None),
        "policy": getattr(args, "policy", None),
        "fail_on": getattr(args, "fail_on", None),
        "formats": getattr(args, "format", None) if isinstance(getattr(args, "format", None), list) else None,
        "graph_url": getattr(args, "graph_url", None),
        "cache": getattr(args, "cache", None),
    }
    s = resolve_settings(flags, os.environ, os.getcwd())
    return Settings(
        sources=tuple(s.sources or ()),
        policy=s.policy,
        fail_on=s.fail_on or "error",
        formats=tuple(s.formats or ()),
        graph_url=s.graph_url,
        base_dir=s.base_dir if getattr(s, "base_dir", None) else os.getcwd(),
        timeout=getattr(args, "timeout", None),
        quiet=bool(getattr(args, "quiet", False)),
        debug=bool(getattr(args, "debug", False)),
        plan_options={
            "column_mappings": dict(getattr(s, "column_mappings", None) or {}),
            "csv": dict(getattr(s, "csv", None) or {}),
            "tf_root": getattr(args, "tf_root", None),
        },
        cache=getattr(s, "cache", None),
        max_age=getattr(args, "max_age", None),
        refresh=bool(getattr(args, "refresh", False)),
        strict_inputs=bool(getattr(args, "strict_inputs", False)),
        sync=dict(getattr(s, "sync", None) or {}),
        naming=dict(getattr(s, "naming", None) or {}),
        naming_location=s.location_of("naming"),
    )


def today() -> dt.date:
    """Overridable so exemption expiry is testable without freezing the clock."""
    value = os.environ.get("DUPFIX_TODAY")
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise UserInputError(f"DUPFIX_TODAY={value!r} is not a date (YYYY-MM-DD)") from exc
    return dt.date.today()

