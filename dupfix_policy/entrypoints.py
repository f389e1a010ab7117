"""Finding third-party plugins' entry points without `importlib.metadata`.

Why: `importlib.metadata` imports the `email` package to parse distribution metadata, which costs
more than the rest of a small check's start-up (docs/plugins.md "Start-up"). An entry point needs
none of it: each installed distribution's `*.dist-info/entry_points.txt` (or `*.egg-info/…`) says
`[group]` then `name = module:attribute`. This reads exactly those files, first distribution of a
name on `sys.path` winning, as `importlib.metadata.entry_points` does.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any, NamedTuple

_DIST_DIR = re.compile(r"^(?P<name>[^-]+)(?:-(?P<version>[^-]+))?.*\.(?:dist|egg)-info$", re.IGNORECASE)


class EntryPoint(NamedTuple):
    """One `name = module:attribute` line of an installed distribution's entry points.

    A named tuple, as importlib.metadata's own EntryPoint was: every check defines this class
    and a named tuple costs a fifth of a dataclass to create (start-up, issue 14).
    """

    name: str
    value: str
    group: str
    folder_name: str  # the distribution as its metadata folder spells it (`broken_dupfix`)
    dist_version: str
    dist_path: str = ""

    @property
    def dist_name(self) -> str:
        """The distribution's own name (`Name:` in its METADATA), for messages; read on demand."""
        for file in ("METADATA", "PKG-INFO"):
            try:
                with open(os.path.join(self.dist_path, file), encoding="utf-8") as fh:
                    for line in fh:
                        if line.lower().startswith("name:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break
            except OSError:
                continue
        return self.folder_name

    def load(self) -> Any:
        module, _, attribute = self.value.partition(":")
        obj: Any = importlib.import_module(module.strip())
        for part in attribute.strip().split(".") if attribute.strip() else ():
            obj = getattr(obj, part)
        return obj


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entry_points(group: str, path: list[str] | None = None) -> list[EntryPoint]:
    """Every entry point of `group` in the distributions on `path` (default `sys.path`)."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for base in path if path is not None else sys.path:
        try:
            with os.scandir(base or ".") as entries:
                names = sorted(e.name for e in entries if e.name.lower().endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for folder in names:
            m = _DIST_DIR.match(folder)
            if m is None:
                continue
            dist = _normalise(m.group("name"))
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(base or ".", folder, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            found.extend(
                _parse(text, group, m.group("name"), m.group("version") or "?", os.path.join(base or ".", folder))
            )
    return found


def _parse(text: str, group: str, dist_name: str, dist_version: str, dist_path: str) -> list[EntryPoint]:
    out: list[EntryPoint] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current != group or "=" not in line:
            continue
        name, _, value = line.partition("=")
        out.append(EntryPoint(name.strip(), value.strip(), group, dist_name, dist_version, dist_path))
    return out
