"""Command line: argument parsing and exit codes only; the work happens in `commands`.

Kept free of heavy imports so `dupfix --help` and a pre-commit run start fast: sources import
msgraph-sdk or ldap3 only when a spec asks for them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, DupfixError
from .safetext import say

ISSUES_URL = "https://github.com/dupfix-policy/dupfix-policy/issues"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is exit 2 with one line, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise DupfixUsage(message)


class DupfixUsage(Exception):
    pass


def _add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        action="append",
        metavar="SPEC",
        help="state to check against: snapshot:PATH, graph, ldap://HOST:PORT/BASE, cache:PATH or none; "
        "repeat to combine AD and Entra (default: the config file's sources)",
    )
    p.add_argument("--config", metavar="FILE", help="config file (default: .dupfix.yaml found walking up)")
    p.add_argument("--graph-url", metavar="URL", help="Microsoft Graph endpoint (national clouds, tests)")
    p.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS",
        help="total time budget for reading live state, retries and throttling waits included (default 300)",
    )  # fmt: skip
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display on stderr")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 (at most 86400)")
    return value


def _add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-age", type=_duration, metavar="AGE",
        help="refuse a cache:PATH source synced longer ago than AGE (e.g. 90m, 24h, 7d; default 24h): exit 3",
    )  # fmt: skip
    p.add_argument("--refresh", action="store_true", help="sync cache:PATH sources before reading them")


def _duration(text: str) -> float:
    """`90`, `90s`, `30m`, `24h`, `7d` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1].lower()) if text[-1:].lower() in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 24h or 7d") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dupfix",
        description="Stop duplicate UPNs and proxy addresses before they reach Microsoft Entra ID.",
    )
    parser.add_argument("--version", action="version", version=f"dupfix-policy {__version__}")
    parser.add_argument(
        "--debug", action="store_true",
        help="show tracebacks for internal errors; live sources log each request (secrets redacted)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="check plan files against directory state")
    check.add_argument("paths", nargs="*", metavar="PLAN_OR_DIR", help="plan files or directories")
    _add_source_options(check)
    _add_cache_options(check)
    check.add_argument("--policy", metavar="NAME_OR_FILE", help="policy pack name (default, strict, idfix) or file")
    check.add_argument(
        "--format",
        action="append",
        metavar="NAME[=PATH]",
        help="report format (text, json, ...; auto); NAME=PATH writes to a file; repeatable",
    )
    check.add_argument("--fail-on", choices=("error", "warning", "never"), help="lowest severity that fails")
    check.add_argument("--plan-format", metavar="NAME", help="read every named file with this plan format")
    check.add_argument(
        "--tf-root", metavar="DIR", help="Terraform root module, to point plan-JSON findings at .tf lines"
    )
    check.add_argument("--hook", action="store_true", help="pre-commit mode: skip files no loader recognises")
    check.add_argument(
        "--strict-inputs", action="store_true",
        help="fail where an input is not fully judged: a plan value dupfix could not judge (exit 2; the "
        "report's notes say what) or state that can't be shown complete, e.g. a snapshot without an "
        "end record (exit 3)",
    )  # fmt: skip
    check.add_argument(
        "--baseline", metavar="FILE", help="report only findings not in this baseline (the rest: suppressed)"
    )
    check.add_argument(
        "--create-baseline", metavar="FILE", help="write today's findings to FILE, accepting them from now on"
    )
    check.add_argument(
        "--suggest", action="store_true",
        help="propose a free value for each fixable error (naming: in .dupfix.yaml), a resolution for the rest",
    )  # fmt: skip

    fix = sub.add_parser("fix", help="write suggested free values into the plan files (--write, or --diff to preview)")
    fix.add_argument("paths", nargs="*", metavar="PLAN_OR_DIR", help="plan files or directories")
    _add_source_options(fix)
    _add_cache_options(fix)
    fix.add_argument("--policy", metavar="NAME_OR_FILE", help="policy pack name (default, strict, idfix) or file")
    fix.add_argument("--plan-format", metavar="NAME", help="read every named file with this plan format")
    fix.add_argument("--tf-root", metavar="DIR", help="Terraform root module: show the .tf line to change")
    fix.add_argument("--hook", action="store_true", help="pre-commit mode: skip files no loader recognises")
    mode = fix.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the plan files in place")
    mode.add_argument("--diff", action="store_true", help="print a unified diff; change nothing")

    snap = sub.add_parser("snapshot", help="export the state of one or more sources to a snapshot file")
    _add_source_options(snap)
    snap.add_argument("--output", "-o", required=True, metavar="FILE", help=".json or .jsonl")

    whois = sub.add_parser("whois", help="who holds this UPN or address, in every directory")
    whois.add_argument("value", metavar="VALUE", help="a UPN, an address (with or without type:), or an alias")
    _add_source_options(whois)
    _add_cache_options(whois)
    whois.add_argument("--format", choices=("text", "json"), default="text")

    doctor = sub.add_parser("doctor", help="check that each source can be read: credentials, permissions, reach")
    _add_source_options(doctor)

    audit = sub.add_parser("audit", help="every duplicate and quarantined value in the sources today, with a fix plan")
    _add_source_options(audit)
    _add_cache_options(audit)
    audit.add_argument("--policy", metavar="NAME_OR_FILE", help="policy pack name (default, strict, idfix) or file")
    audit.add_argument(
        "--format", action="append", metavar="NAME[=PATH]",
        help="report format (text, json, sarif, csv, html, ...; auto); NAME=PATH writes to a file; repeatable",
    )  # fmt: skip
    audit.add_argument("--fail-on", choices=("error", "warning", "never"), help="lowest severity that fails")
    audit.add_argument(
        "--strict-inputs", action="store_true",
        help="fail (exit 3) where an input can't be shown complete, e.g. a snapshot without an end record",
    )  # fmt: skip
    audit.add_argument("--emit-plan", metavar="FILE", help="write the suggested resolutions as a native plan")
    audit.add_argument("--emit-ldif", metavar="FILE", help="write their on-prem AD part as LDIF for ldifde")

    sync = sub.add_parser("sync", help="fill or refresh the local state cache (cache:PATH) from live sources")
    _add_source_options(sync)
    sync.add_argument("--cache", metavar="PATH", help="the cache file (default: the config file's `cache`)")
    sync.add_argument("--full", action="store_true", help="rebuild from full scans even where a delta would do")

    rules = sub.add_parser("rules", help="every rule: id, code, default severity, meaning, fix")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")

    schema = sub.add_parser("schema", help="print a JSON schema")
    schema.add_argument("name", choices=("plan", "snapshot", "policy", "report", "config"))
    return parser


class StdoutError(DupfixError):
    """Standard output could not be written (disk full, /dev/full): exit 2, never a silent pass."""

    exit_code = EXIT_BAD_INPUT


class _GuardedStdout:
    """sys.stdout for one run: a reader that stops reading ends the output, not the verdict.

    Why: `dupfix check … | head -1` closes the pipe early; Python then raises BrokenPipeError
    wherever the next write happens, and turning that into exit 0 (as before) made a failing check
    pass. Here a closed pipe only stops the output (the exit code stays the verdict), and any other
    write error (ENOSPC on /dev/full) is exit 2 with a message. A BrokenPipeError from anything
    else (a dead worker process's pipe) is then an internal error, never a pass.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.pipe_closed = False

    def write(self, text: str) -> int:
        if self.pipe_closed:
            return len(text)
        try:
            return self._inner.write(text)
        except BrokenPipeError:
            self._closed()
        except OSError as exc:
            self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self.pipe_closed:
            return
        try:
            self._inner.flush()
        except BrokenPipeError:
            self._closed()
        except OSError as exc:
            self._failed(exc)

    def _closed(self) -> None:
        self.pipe_closed = True
        self._silence()

    def _failed(self, exc: OSError) -> None:
        self._silence()
        raise StdoutError(
            f"cannot write to standard output: {exc.strerror or exc}",
            hint="write the report to a file instead: --format NAME=PATH",
        ) from None

    def _silence(self) -> None:
        """Point fd 1 at /dev/null so the interpreter's final flush can't fail (exit 120) too."""
        try:
            fd = self._inner.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main(argv: Sequence[str] | None = None) -> int:
    guarded = _GuardedStdout(sys.stdout)
    original = sys.stdout
    sys.stdout = guarded  # type: ignore[assignment]
    try:
        code = _main(argv)
        try:
            guarded.flush()
        except StdoutError as exc:
            say(f"dupfix: error: {exc}")
            return code if code == EXIT_INTERNAL else exc.exit_code  # 2 outranks 3 and 1
        return code
    finally:
        sys.stdout = original


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    args_list = [a for a in args_list if a != "--debug"]  # accepted before or after the command
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
        args.debug = debug
        if not args.command:
            parser.print_help()
            return EXIT_BAD_INPUT
        from . import commands

        return commands.dispatch(args)
    except DupfixUsage as exc:
        say(f"dupfix: error: {exc}")
        return EXIT_BAD_INPUT
    except DupfixError as exc:
        say(f"dupfix: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        say("dupfix: interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        say(
            f"dupfix: internal error: {type(exc).__name__}: {exc}. This is a bug: please report it at "
            f"{ISSUES_URL} (run again with --debug for the traceback)"
        )
        return EXIT_INTERNAL


def entry() -> NoReturn:
    """The `dupfix` console script: `main()`, then leave without tearing the interpreter down.

    Finalising every module a Graph run imported (msgraph-sdk, kiota, azure-core, httpx) took
    40-80 ms after the work was done, an eighth of an incremental sync (issue 16). By the time
    `main()` returns, every file, cache and connection is closed and the exit code is decided; what
    remains is what a normal exit does for others: the `atexit` handlers (logging's flush among
    them) and flushing the standard streams, done here. Under a profiler or a tracer (`python -m
    cProfile`, coverage) the exit is the normal one, so they can write their results. `main()`
    itself returns normally, so code that calls it (tests, wrappers) keeps a live interpreter.
    Before `main()`, the garbage collector is told to collect rarely (`collector`, issue 16).
    """
    from . import collector

    collector.tune_for_command_line()
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    import atexit

    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None:  # not CPython: the normal exit
        sys.exit(code)
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
