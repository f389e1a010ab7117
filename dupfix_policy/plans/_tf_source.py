"""Find a resource's block in the `.tf` files, so a plan-JSON finding can point at real source.

`terraform show -json` prints the whole plan on one line, so "plan.json:1:48213" helps nobody.
Like checkov's `--repo-root-for-plan-enrichment`, we look for the `.tf` files the plan was made
from (beside the plan, or under `--tf-root DIR`), follow module calls to their directories (the
plan's `configuration` section names each call's `source`; `.terraform/modules/modules.json`
knows where `terraform init` put the others), and find `resource "TYPE" "NAME" {`. Inside the block
we find each argument's line, and `# dupfix: ignore ...` comments in or directly above the block.

This is a line scanner, not an HCL parser: it needs only block starts, their extent (braces outside
strings, comments and heredocs) and `name =` lines, and it never fails a check: a file it cannot
read just means the finding points at the plan instead.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

_BLOCK = re.compile(r'^\s*resource\s+"?([A-Za-z0-9_-]+)"?\s+"?([A-Za-z0-9_-]+)"?\s*\{')
_ARGUMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=(?!=)")
_HEREDOC = re.compile(r"<<-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def is_comment(line: str) -> bool:
    text = line.lstrip()
    return text.startswith(("#", "//"))


@dataclass(frozen=True)
class Block:
    """Where one `resource` block is: file, first and last line, argument lines, its comments."""

    path: str
    line: int
    end: int
    arguments: dict[str, int] = field(default_factory=dict)
    comments: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class _File:
    path: str
    lines: tuple[str, ...]


def _read(path: str) -> _File | None:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return _File(path, tuple(fh.read().splitlines()))
    except OSError:
        return None


def _end_of_block(lines: tuple[str, ...], start: int) -> int:
    """Index of the line holding the `}` that closes the block opened on line index `start`."""
    depth = 0
    heredoc: str | None = None
    in_comment = False
    for i in range(start, len(lines)):
        line = lines[i]
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        j = 0
        quoted = False
        while j < len(line):
            ch = line[j]
            if in_comment:
                if line.startswith("*/", j):
                    in_comment = False
                    j += 1
            elif quoted:
                if ch == "\\":
                    j += 1
                elif ch == '"':
                    quoted = False
            elif ch == '"':
                quoted = True
            elif ch == "#" or line.startswith("//", j):
                break
            elif line.startswith("/*", j):
                in_comment = True
                j += 1
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return i
            j += 1
        match = _HEREDOC.search(line)
        if match and not quoted:
            heredoc = match.group(1)
    return len(lines) - 1


def blocks_in(directory: str) -> dict[tuple[str, str], Block]:
    """(type, name) -> Block for every `resource` block in the directory's `.tf` files."""
    found: dict[tuple[str, str], Block] = {}
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError:
        return found
    for name in names:
        file = _read(os.path.join(directory, name))
        if file is None:
            continue
        for i, line in enumerate(file.lines):
            match = _BLOCK.match(line)
            if not match:
                continue
            end = _end_of_block(file.lines, i)
            arguments: dict[str, int] = {}
            comments: list[tuple[int, str]] = []
            above = i - 1
            while above >= 0 and is_comment(file.lines[above]):
                comments.insert(0, (above + 1, file.lines[above].strip()))
                above -= 1
            for k in range(i + 1, end + 1):
                text = file.lines[k]
                if is_comment(text):
                    comments.append((k + 1, text.strip()))
                    continue
                if "#" in text:
                    comments.append((k + 1, text[text.index("#") :]))
                arg = _ARGUMENT.match(text)
                if arg:
                    arguments.setdefault(arg.group(1), k + 1)
            found.setdefault(
                (match.group(1), match.group(2)), Block(file.path, i + 1, end + 1, arguments, tuple(comments))
            )
    return found


def module_directory(root: str, module_address: str, configuration: object) -> str | None:
    """The directory of `module.a.module.b` under `root`: from the plan's module calls, else modules.json."""
    if not module_address:
        return root
    names = re.findall(r"module\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?", module_address)
    directory = root
    module = _mapping(_mapping(configuration).get("root_module"))
    for name in names:
        call = _mapping(_mapping(module.get("module_calls")).get(name))
        source = call.get("source")
        if not (isinstance(source, str) and source.startswith(("./", "../"))):
            return _installed_module(root, ".".join(names))
        directory = os.path.normpath(os.path.join(directory, source))
        module = _mapping(call.get("module"))
    return directory


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _installed_module(root: str, key: str) -> str | None:
    """Where `terraform init` put a registry or git module (`.terraform/modules/modules.json`)."""
    try:
        with open(os.path.join(root, ".terraform", "modules", "modules.json"), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    modules = _mapping(data).get("Modules")
    for item in modules if isinstance(modules, list) else []:
        if isinstance(item, dict) and item.get("Key") == key and isinstance(item.get("Dir"), str):
            return os.path.normpath(os.path.join(root, item["Dir"]))
    return None


def has_tf_files(directory: str) -> bool:
    try:
        return any(n.endswith(".tf") for n in os.listdir(directory))
    except OSError:
        return False
