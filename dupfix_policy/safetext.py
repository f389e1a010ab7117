"""Text from files and directories, made safe to print on a terminal or into a CI log.

Why: plan values, file names and keys come from whoever wrote the plan (a pull request from a
fork, say). Printed as they are, a newline followed by `::add-mask::`/`::error::` (GitHub Actions
workflow commands) or a `##vso[task.setvariable ...]` anywhere in a line (Azure Pipelines logging
commands) would be obeyed by the CI runner, and terminal escape sequences could rewrite what a
reviewer sees. Every line the text report and the CLI's stderr messages print goes through
`clean`: control characters (C0, DEL, C1, Unicode line separators and bidi overrides) become
visible escapes, `##vso[` / `##[` lose their meaning, and a line can't start with `::`.
"""

from __future__ import annotations

import contextlib
import re
import sys

# C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_AZURE = re.compile(r"##(vso)?\[", re.IGNORECASE)
_GITHUB = re.compile(r"^(\s*)::")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """One printable line: controls escaped, CI log commands (`##vso[`, `::cmd::`) neutralised."""
    out = _UNSAFE.sub(_escape, str(text))
    out = _AZURE.sub(lambda m: "##" + (m.group(1) or "") + "\\[", out)
    return _GITHUB.sub(lambda m: m.group(1) + "\\::", out)


def say(message: str) -> None:
    """One `dupfix: …` line on stderr, cleaned; a closed stderr never changes the exit code."""
    with contextlib.suppress(OSError):
        print(clean(message), file=sys.stderr)
