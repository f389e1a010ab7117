"""Finding plan files and the format that reads each (priority decides when several match)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import UserInputError
from ..interfaces import PlanFormat
from ..model import Location, Plan
from ..plugins import Registry

HEAD_BYTES = 4096

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".terraform", ".dupfix"}

SKIP_FILES = {".dupfix.yaml", ".dupfix.yml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml"}


def _head(path: str) -> bytes:
    try:
        if not os.path.isfile(path):  # a FIFO would block the open, a device never end
            raise UserInputError(
                "not a regular file (a device, FIFO or socket)", location=Location(path),
                hint="save the plan to a file and name that",
            )  # fmt: skip
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise UserInputError(f"cannot read {path}: {exc.strerror}", location=Location(path)) from exc


def detect(path: str, registry: Registry, notes: list[str] | None = None) -> PlanFormat | None:
    """The format that reads this file: of every format that recognises it, the one with the
    highest `priority` (then the name, so the choice never depends on plugin load order). When
    several match, the report's notes say which one read it and which others also matched."""
    head = _head(path)
    matches = [fmt for fmt in registry.plan_formats.values() if fmt.detect(path, head)]
    if not matches:
        return None
    matches.sort(key=lambda f: (-f.priority, f.name))
    if len(matches) > 1 and notes is not None:
        others = ", ".join(f"{f.name} (priority {f.priority})" for f in matches[1:])
        notes.append(f"{path}: read as {matches[0].name} (priority {matches[0].priority}); also matched {others}")
    return matches[0]


def _walk(directory: str) -> Iterator[str]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name not in SKIP_FILES:
                yield os.path.join(root, name)


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def collect_plans(
    paths: Sequence[str], registry: Registry, plan_format: str | None, hook: bool,
    options: dict[str, Any] | None = None,
) -> tuple[list[Plan], list[str]]:
    if not paths:
        raise UserInputError("no plan files given", hint="name plan files or directories: dupfix check plans/")
    forced = None
    if plan_format:
        forced = registry.plan_formats.get(plan_format)
        if forced is None:
            raise UserInputError(
                f"unknown plan format {plan_format!r}",
                field="--plan-format",
                hint=f"installed formats: {', '.join(sorted(registry.plan_formats))}",
            )
    plans: list[Plan] = []
    notes: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        path = _display(raw)
        if os.path.isdir(path):
            found = 0
            for file in _walk(path):
                file = _display(file)
                if not os.path.isfile(file):
                    notes.append(f"skipped {file}: not a regular file")
                    continue
                fmt = detect(file, registry, notes)
                if fmt is None:
                    notes.append(f"skipped {file}: no plan format recognises it")
                    continue
                found += 1
                if _first_time(file, seen):
                    plans.append(fmt.load(file, options or {}))
            if not found and not hook:
                raise UserInputError(
                    f"no plan files found in {path}",
                    location=Location(path),
                    hint=f"plan formats: {', '.join(sorted(registry.plan_formats))}",
                )
            continue
        if not os.path.exists(path):
            if hook:
                notes.append(f"skipped {path}: it no longer exists")
                continue
            raise UserInputError("no such file or directory", location=Location(path), hint="check the path")
        fmt = forced or detect(path, registry, notes)
        if fmt is None:
            if hook:
                notes.append(f"skipped {path}: no plan format recognises it")
                continue
            raise UserInputError(
                "no plan format recognises this file",
                location=Location(path),
                hint=f"use --plan-format NAME to force one ({', '.join(sorted(registry.plan_formats))})",
            )
        if _first_time(path, seen):
            plans.append(fmt.load(path, options or {}))
    return plans, notes


def _first_time(path: str, seen: set[str]) -> bool:
    """A file named twice (directly and inside a named directory) is one plan, not its own duplicate."""
    real = os.path.realpath(path)
    if real in seen:
        return False
    seen.add(real)
    return True

