"""Settings from `.dupfix.yaml`, the environment and flags, in that order of precedence.

A repository keeps its sources and policy in `.dupfix.yaml` so that `dupfix check plans/` needs
no flags in CI or in a pre-commit hook; CI overrides per job with `DUPFIX_*` variables; a person
overrides anything with a flag. `resolve_settings` is the one place that merges the three, and it
records where each value came from so a message can say "sources (from .dupfix.yaml:3)".

Paths written in the config file are relative to the file's directory (so the file means the same
thing from any subdirectory) and come back absolute. Paths from flags and the environment are
left as given: they are relative to the working directory the command runs in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .documents import Document, load_document, validate
from .errors import UserInputError
from .model import Location
from .schemas import load_schema

CONFIG_NAMES = (".dupfix.yaml", ".dupfix.yml")
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
FAIL_ON = ("error", "warning", "never")
# Source schemes whose text after the colon is a file path (resolved against the config file).
PATH_SCHEMES = ("snapshot", "cache")

ENV = {
    "config": "DUPFIX_CONFIG",
    "sources": "DUPFIX_SOURCES",
    "policy": "DUPFIX_POLICY",
    "fail_on": "DUPFIX_FAIL_ON",
    "graph_url": "DUPFIX_GRAPH_URL",
}
FLAGS = {
    "config": "--config",
    "sources": "--source",
    "policy": "--policy",
    "fail_on": "--fail-on",
    "graph_url": "--graph-url",
    "cache": "--cache",
    "formats": "--format",
}
# config-file key -> Settings field
_FILE_KEYS = {
    "sources": "sources",
    "policy": "policy",
    "failOn": "fail_on",
    "graphUrl": "graph_url",
    "cache": "cache",
    "formats": "formats",
    "columnMappings": "column_mappings",
    "csv": "csv",
    "sync": "sync",
    "naming": "naming",
}
_SPEC_START = re.compile(r"^[a-z][a-z0-9+.-]*(?::|$)")


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one command, with where each value came from.

    `origins[name]` is "--source", "DUPFIX_SOURCES", "/repo/.dupfix.yaml:3" or "default";
    `locations[name]` is set for values read from the config file, so later errors about a value
    (an unknown policy pack, a bad source spec) can point at its line. `base_dir` is the directory
    relative paths in these values are relative to: the working directory.
    """

    sources: tuple[str, ...] = ()
    policy: str | None = None
    fail_on: str = "error"
    graph_url: str = DEFAULT_GRAPH_URL
    cache: str | None = None
    formats: tuple[str, ...] = ()
    column_mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    csv: Mapping[str, str] = field(default_factory=dict)  # CSV plans: separator, valueSeparator, encoding
    sync: Mapping[str, Any] = field(default_factory=dict)  # Entra Connect set-up (projection.SyncRules)
    naming: Mapping[str, Any] = field(default_factory=dict)  # --suggest / fix conventions (naming.py)
    config_path: str | None = None
    base_dir: str = "."
    origins: Mapping[str, str] = field(default_factory=dict)
    locations: Mapping[str, Location] = field(default_factory=dict)

    def origin_of(self, name: str) -> str:
        return self.origins.get(name, "default")

    def location_of(self, name: str) -> Location | None:
        return self.locations.get(name)


class ConfigFile(NamedTuple):
    """What one `.dupfix.yaml` says, keyed by `Settings` field name, paths already absolute."""

    path: str
    values: Mapping[str, Any]
    locations: Mapping[str, Location]


def find_config(start: str) -> str | None:
    """The nearest `.dupfix.yaml` (or `.yml`) in `start` or a parent, up to the filesystem root."""
    here = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(here, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_config(path: str) -> ConfigFile:
    """Read and validate one config file; an empty file is a valid, empty config."""
    doc = load_document(path, kind="config", allow_empty=True)
    validate(doc, load_schema("config"))
    base = os.path.dirname(os.path.abspath(path))
    values: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    for key, name in _FILE_KEYS.items():
        if key not in doc.data:
            continue
        locations[name] = doc.position((key,))
        values[name] = _from_file(name, doc.data[key], base, doc)
    return ConfigFile(path, values, locations)


def _from_file(name: str, value: Any, base: str, doc: Document) -> Any:
    if name == "sources":
        return tuple(resolve_spec(spec, base) for spec in value)
    if name == "policy":
        return value if _is_pack_name(value) else _join(base, value)
    if name == "cache":
        return _join(base, value)
    if name == "formats":
        return tuple(_resolve_format(item, base, doc.position(("formats", i))) for i, item in enumerate(value))
    if name == "column_mappings":
        return {fmt: dict(columns) for fmt, columns in value.items()}
    return value


def resolve_spec(spec: str, base: str) -> str:
    """`snapshot:tenant.json` written in a config file -> `snapshot:/repo/tenant.json`."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme.lower() in PATH_SCHEMES and rest and not rest.startswith("//"):
        return f"{scheme}:{_join(base, rest)}"
    return spec


def _resolve_format(item: str, base: str, where: Location) -> str:
    """`json=reports/x.json` -> the path under the config's directory, which it may not leave.

    Why: a repository's own `.dupfix.yaml` is written by whoever opens the pull request; a report
    path like `../../home/runner/.bashrc` or `/etc/cron.d/x` would let it overwrite files outside
    the checkout. Such paths are for the command line (`--format NAME=PATH`), never the config.
    """
    name, sep, path = item.partition("=")
    if not sep:
        return item
    joined = os.path.normpath(os.path.join(base, path))
    root = os.path.realpath(base)
    inside = not os.path.isabs(path) and os.path.realpath(joined).startswith(root.rstrip(os.sep) + os.sep)
    if not inside:
        raise UserInputError(
            f"report path {path!r} is outside the repository ({base})",
            location=where,
            field="formats",
            hint="write a path inside the repository, or pass --format NAME=PATH on the command line",
        )
    return f"{name}={joined}"


def _join(base: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def _is_pack_name(name: str) -> bool:
    from .policy import is_pack_name

    return is_pack_name(name)


def split_specs(text: str) -> tuple[str, ...]:
    """`DUPFIX_SOURCES` -> specs: commas separate specs, except inside an LDAP base DN.

    `ldap://dc1/DC=contoso,DC=com,graph` is two specs: a piece that does not start like a spec
    (`scheme:` or a bare lower-case word such as `graph`) continues the previous one.
    """
    specs: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if specs and not _SPEC_START.match(piece):
            specs[-1] += "," + piece
        else:
            specs.append(piece)
    return tuple(specs)


def resolve_settings(flags: Mapping[str, Any], env: Mapping[str, str], cwd: str) -> Settings:
    """Merge defaults < config file < environment < flags into `Settings`.

    `flags` holds what the command line gave, by `Settings` field name (`config`, `sources`,
    `policy`, `fail_on`, `graph_url`, `cache`, `formats`); None or an empty list means "not given".
    The config file is `flags["config"]`, else `DUPFIX_CONFIG`, else the nearest `.dupfix.yaml`
    walking up from `cwd`.
    """
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise TypeError(f"resolve_settings: unknown flags {sorted(unknown)}")
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    locations: dict[str, Location] = {}

    config_path = _config_path(flags, env, cwd)
    if config_path is not None:
        config = load_config(config_path)
        for name, value in config.values.items():
            values[name] = value
            loc = config.locations[name]
            locations[name] = loc
            origins[name] = str(Location(loc.path, loc.line))

    for name, var in ENV.items():
        text = env.get(var, "").strip()
        if name == "config" or not text:
            continue
        values[name] = split_specs(text) if name == "sources" else text
        origins[name] = var
        locations.pop(name, None)

    for name, value in flags.items():
        if name == "config" or value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        values[name] = tuple(value) if isinstance(value, (list, tuple)) else value
        origins[name] = FLAGS[name]
        locations.pop(name, None)

    fail_on = values.get("fail_on", "error")
    if fail_on not in FAIL_ON:
        raise UserInputError(
            f"{origins.get('fail_on', 'fail-on')} must be one of {', '.join(FAIL_ON)} (found {fail_on!r})",
            location=locations.get("fail_on"),
        )
    return Settings(
        **values,
        config_path=config_path,
        base_dir=cwd,
        origins=origins,
        locations=locations,
    )


def _config_path(flags: Mapping[str, Any], env: Mapping[str, str], cwd: str) -> str | None:
    explicit = flags.get("config") or env.get(ENV["config"], "").strip() or None
    if explicit is None:
        return find_config(cwd)
    path = _join(cwd, explicit)
    if not os.path.exists(path):
        given = FLAGS["config"] if flags.get("config") else ENV["config"]
        raise UserInputError(
            f"config file not found (named by {given})",
            location=Location(explicit),
            hint="check the path, or leave it out to use the nearest .dupfix.yaml",
        )
    return path
