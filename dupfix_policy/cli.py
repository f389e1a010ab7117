"""Command line: argument parsing and exit codes only; the work happens in `commands`.

Kept free of heavy imports so `dupfix --help` and a pre-commit run start fast: sources import
msgraph-sdk or ldap3 only when a spec asks for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, DupfixError

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dupfix",
        description="Stop duplicate UPNs and proxy addresses before they reach Microsoft Entra ID.",
    )
    parser.add_argument("--version", action="version", version=f"dupfix-policy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="check plan files against directory state")
    check.add_argument("paths", nargs="*", metavar="PLAN_OR_DIR", help="plan files or directories")
    _add_source_options(check)
    check.add_argument("--policy", metavar="NAME_OR_FILE", help="policy pack name (default, strict, idfix) or file")
    check.add_argument(
        "--format",
        action="append",
        metavar="NAME[=PATH]",
        help="report format (text, json, ...; auto); NAME=PATH writes to a file; repeatable",
    )
    check.add_argument("--fail-on", choices=("error", "warning", "never"), help="lowest severity that fails")
    check.add_argument("--plan-format", metavar="NAME", help="read every named file with this plan format")
    check.add_argument("--hook", action="store_true", help="pre-commit mode: skip files no loader recognises")
    check.add_argument("--baseline", metavar="FILE", help=argparse.SUPPRESS)

    snap = sub.add_parser("snapshot", help="export the state of one or more sources to a snapshot file")
    _add_source_options(snap)
    snap.add_argument("--output", "-o", required=True, metavar="FILE", help=".json or .jsonl")

    whois = sub.add_parser("whois", help="who holds this UPN or address, in every directory")
    whois.add_argument("value", metavar="VALUE", help="a UPN, an address (with or without type:), or an alias")
    _add_source_options(whois)
    whois.add_argument("--format", choices=("text", "json"), default="text")

    rules = sub.add_parser("rules", help="every rule: id, code, default severity, meaning, fix")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    schema = sub.add_parser("schema", help="print a JSON schema")
    schema.add_argument("name", choices=("plan", "snapshot", "policy", "report", "config"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
        print(f"dupfix: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DupfixError as exc:
        print(f"dupfix: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dupfix: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            raise
        print(
            f"dupfix: internal error: {type(exc).__name__}: {exc}. This is a bug: please report it at "
            f"{ISSUES_URL} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
