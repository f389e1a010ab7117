"""Inline suppression: `# dupfix: ignore DUP002 <reason>` on or above a change.

Like checkov's `#checkov:skip=ID:reason` and tflint's `# tflint-ignore: rule`, a person can accept
one finding where the change is written, in every format that has comments (YAML, LDIF, CSV
comment lines, the `.tf` block of a Terraform resource). The reason is required: the report shows
it next to the suppressed finding (`suppressed: {kind: inline, reason, location}`), so nothing is
ever dropped silently, and a reviewer sees why.

Syntax: `dupfix: ignore CODE[,CODE...] reason text`, where CODE is a rule code (`DUP002`) or id
(`duplicate-proxy-address`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..errors import UserInputError
from ..model import Location

MARKER = re.compile(r"dupfix\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
_CODE = re.compile(r"^(?:[A-Za-z]{3}\d{3}|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)$")
EXAMPLE = "# dupfix: ignore DUP002 shared mailbox moves next week, CHG-1234"

Suppressions = dict[str, tuple[str, Location]]


def parse(comment: str, where: Location) -> Suppressions:
    """The codes one comment suppresses ({} when it is an ordinary comment)."""
    match = MARKER.search(comment)
    if match is None:
        return {}
    rest = match.group("rest").strip().lstrip(":=").strip()
    codes_text, _, reason = rest.partition(" ")
    codes = [c.strip() for c in codes_text.split(",") if c.strip()]
    if not codes:
        raise UserInputError(
            "an inline suppression names no rule",
            location=where,
            hint=f"write the rule code and why, e.g. `{EXAMPLE}`",
        )
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise UserInputError(
            f"an inline suppression names {bad[0]!r}, which is not a rule code or id",
            location=where,
            hint=f"`dupfix rules` lists them; e.g. `{EXAMPLE}`",
        )
    reason = reason.strip()
    if not reason:
        raise UserInputError(
            f"the inline suppression of {', '.join(codes)} gives no reason",
            location=where,
            hint=f"say why the finding is accepted, e.g. `{EXAMPLE}`",
        )
    return {(c.upper() if c[:3].isalpha() and c[3:].isdigit() else c): (reason, where) for c in codes}


def collect(comments: Iterable[tuple[str, Location]]) -> Suppressions:
    """Merge the suppressions of several comments; the first comment naming a code wins."""
    out: Suppressions = {}
    for text, where in comments:
        for code, value in parse(text, where).items():
            out.setdefault(code, value)
    return out


def comment_block_above(lines: list[str], first_line: int, is_comment: Callable[[str], bool]) -> list[int]:
    """Line numbers (1-based) of the contiguous comment lines directly above `first_line`."""
    found: list[int] = []
    n = first_line - 1
    while n >= 1 and is_comment(lines[n - 1]):
        found.append(n)
        n -= 1
    return found[::-1]


_TRAILING = re.compile(r"(?:^|\s)(#\s*dupfix\s*:\s*ignore\b.*)$", re.IGNORECASE)


def _is_hash_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def by_start_line(lines: list[str], starts: list[int], path: str) -> list[Suppressions]:
    """For text with `#` comments (YAML): the suppressions of each change, given its first line.

    A change owns the comment block directly above its first line, and every comment (whole-line
    or trailing) from its first line up to the next change's comment block.
    """
    out: list[Suppressions] = []
    for n, start in enumerate(starts):
        above = comment_block_above(lines, start, _is_hash_comment)
        end = len(lines) if n + 1 == len(starts) else starts[n + 1] - 1
        if n + 1 < len(starts):
            end -= len(comment_block_above(lines, starts[n + 1], _is_hash_comment))
        comments: list[tuple[str, Location]] = [(lines[i - 1], Location(path, i, 1)) for i in above]
        for i in range(start, end + 1):
            text = lines[i - 1]
            match = _TRAILING.search(text)
            if match:
                comments.append((match.group(1), Location(path, i, match.start(1) + 1)))
        out.append(collect(comments))
    return out
