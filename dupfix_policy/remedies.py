"""What `check --suggest` proposes and `dupfix fix` writes: a free value for a conflicting change
and the exact edits in the plan file that carry it.

Apart from `model.py` because only those two paths create them; a plain check never imports this
module (start-up, issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Replacement:
    """One value to rewrite in a plan file: the old text at its place, and the new one.

    `start`/`end` are (line, column) of the exact text to replace (1-based, end exclusive), when the
    fixer found it in the file; `editable` is false where the file is not the one people edit (a
    Terraform plan: the `.tf` line is shown instead).
    """

    file: str
    attribute: str
    old: str
    new: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    inserted: str | None = None  # the file text for the span (differs from `new` in LDIF base64)
    editable: bool = True


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What `--suggest` proposes for one finding (suggestions.py).

    `kind` "value": a free value, written by `replacements` (every attribute of the change that
    held the conflicting value, so the change stays consistent). "resolution": the plan cannot fix
    it by itself (a holder that should yield or be purged): `text` says what to do instead.
    """

    kind: str
    text: str
    value: str | None = None
    replacements: tuple[Replacement, ...] = ()
