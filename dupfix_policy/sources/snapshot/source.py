"""The `snapshot:PATH` source: directory state read from a snapshot file (docs/sources.md "Snapshot format").

Why this module is shaped the way it is
---------------------------------------
A check asks for the few thousand keys a plan touches; a snapshot may hold a million objects.
Parsing every line with `json.loads` and computing every object's claim keys would cost far more
than the plan is worth (keys alone are ~20 µs per object), so `lookup` streams the file in blocks
and runs a *prefilter* on the raw bytes that only ever lets through too much, never too little;
the lines it lets through are parsed, validated and matched exactly with
`addresses.all_lookup_keys`. Nothing but the objects found is kept, so memory follows the plan.

The prefilter (`_Matcher`, `_scan`)
-----------------------------------
Every lookup key is `<namespace>:<value>` where the value is some normalisation of a string that
appears in the object's line: `fold()` of a UPN or address (after the `type:` prefix for proxies
and targetAddress), upper case for SIDs, lower case for ids, the stripped base64 for anchors.
For each wanted key we keep one *word* of that value: the value is split at spaces, colons and
quotes, ASCII-lower-cased, and its longest piece is kept.

On the file side each block is passed through one `bytes.translate` that lower-cases ASCII and
turns spaces and colons into quotes, then `split(b'"')`. Every JSON string of plain ASCII
without escapes thereby falls apart into exactly the words the value-side split produces (the
`type:` prefix, leading and trailing spaces and `SMTP: x` spacing all just become separators),
so a set intersection with the wanted words (both in C) finds every block that might hold a
wanted key. Splitting is position-independent: a quote inside an escaped string can't shift
the rest of the line, so no tokenizer state is needed. A hit word is then located with
`bytes.find` inside its block, and its line becomes a candidate.

What the ASCII fast path can't see is handled by looking at the raw bytes, not by trusting it:
- strings with non-ASCII bytes (`É` vs `é`, `ß` -> `ss`, decomposed accents: `fold()` is NFC +
  casefold) and strings with JSON escapes (`\\u00c9`, `\\/`, DN `\\,`): each such string is
  decoded on its own and checked in every normalisation a key can use (fold, lower, upper,
  as-is); lines containing an escaped quote are simply parsed, since quotes then can't be used
  to find the string's bounds (rare: a quote inside a display name);
- soft-deleted users keep their original UPN only behind an id prefix (`original_upn`), which
  no word can find: every line whose state is `soft-deleted` is parsed when a `upn:` key is
  wanted (a few per cent of lines, and `json.loads` alone is cheap);
- anchors are the base64 of a GUID's bytes, which an AD object's line never contains: the
  wanted anchor is turned back into the GUID string forms the schema allows
  (`xxxxxxxx-...`, with or without braces, any case), which are single words;
- `sam:` keys name the domain derived from the DN: only the sAMAccountName part is used as the
  word (and, in case the domain holds a backslash, each suffix after one);
- a key whose namespace this module doesn't know, or whose value has no word, makes the pass
  parse every line: slow, but it can't miss (and a test pins the namespaces to `addresses`).

Validation
----------
The header is always validated with the JSON Schema, and every parsed object with
`records.object_problem`, a hand-written equivalent of `#/$defs/object` (jsonschema costs ~50 µs per
object, too slow for `scan` over a million lines; a test keeps the two in agreement). Lines the
prefilter rules out are not parsed, so a syntax error far away from the plan's values is not
reported by `check`; every non-ASCII and every escaped string is still decoded (invalid UTF-8
or a bad escape anywhere is an error), a truncated last line is an error, and `scan()` (used by
`dupfix snapshot`, the cache and the audit) and the `verify` option validate every line. A line
that the prefilter rules out holds none of the wanted keys, so a corrupt line elsewhere can't
hide a conflict from the check.

Repeated look-ups
-----------------
The engine asks again for twins' link keys and targets' own keys. Keys already searched are
remembered together with the objects found, so asking again costs nothing, and a later pass
searches only for keys not searched before. An index of the whole file is deliberately not
built: it would mean parsing every line, which costs more than several passes of the prefilter.

Parallel passes
---------------
The prefilter is CPU-bound, so a large file (over 32 MB) is cut into ranges at line breaks and
each range is scanned by a forked worker, the parent scanning the first itself (Linux only;
`DUPFIX_SNAPSHOT_WORKERS` or the `workers` option sets the count, 1 turns it off). Workers send
back only candidate lines; parsing, validation and matching stay in the parent.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from ... import addresses, forking
from ...addresses import (
    ad_fold,
    all_lookup_keys,
    fold,
    immutable_id_to_guid,
    original_upn,
    target_key,
    upn_key,
)
from ...errors import StateUnavailableError, UserInputError
from ...model import (
    DIRECTORIES,
    DirectoryObject,
    Location,
    ObjectRef,
    SourceInfo,
    Target,
    Tenant,
)
from ..records import (
    JsonProblem,
    object_problem,
    plain_line_object,
    record_to_object,
    strict_loads,
)
from .writer import END_FLAG, END_KEY, JSONL_EXTENSIONS, SNAPSHOT_VERSION

R = TypeVar("R")

SCHEME = "snapshot"


# Namespaces the prefilter knows how to turn into words (addresses.py's key namespaces).
KNOWN_NAMESPACES = frozenset(
    {
        addresses.UPN, addresses.PROXY, addresses.TARGET, addresses.ALIAS, addresses.SAM,
        addresses.ANCHOR, addresses.SID, addresses.ID, addresses.DN, addresses.ADUPN, addresses.ADDN,
    }
)  # fmt: skip
_TYPED_NAMESPACES = frozenset({addresses.PROXY, addresses.TARGET})

BLOCK_SIZE = 32 * 1024  # bytes per prefilter block: small enough that locating a hit is cheap
READ_SIZE = 8 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
# Raw C0 controls other than tab, LF and CR are never valid in JSON: checked on every line, also
# those the prefilter rules out, so a damaged file is exit 2 whether or not a plan touches it.
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A JSON document is parsed whole (the small-tenant format); past this, JSON Lines are the answer.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


def _translate_table() -> bytes:
    """ASCII lower case; quotes and colons become spaces (word separators); non-ASCII becomes 0x80.

    With quotes as spaces, `bytes.split()` (which also drops the many empty pieces between
    adjacent quotes) yields each string's words. Mapping every non-ASCII byte to one marker
    means such words never match in the fast path; the slow path finds them by the marker.
    """
    table = bytearray(range(256))
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = c + 32
    table[ord('"')] = ord(" ")
    table[ord(":")] = ord(" ")
    for c in range(0x80, 0x100):
        table[c] = 0x80
    for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)):
        table[c] = 0x00  # raw control characters (invalid in JSON): one marker, found with `in`
    return bytes(table)


_TABLE = _translate_table()
_WORD_TABLE = str.maketrans(
    {**{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}, ":": " ", '"': " "}
)
SOFT_DELETED = "soft-deleted"
# A distinguishedName with a space around a comma or an equals sign: not how AD writes DNs. A
# non-ASCII byte there may be Unicode whitespace (NBSP), which the key's DN drops too.
_SPACED = rb'[ \x80-\xff][,=]|[,=][ \x80-\xff]|\\u[0-9a-fA-F]{4}[,=]|[,=]\\u'
_SPACED_DN_EXACT = re.compile(rb'"distinguishedName"\s*:\s*"[^"\n]*(?:' + _SPACED + rb")")
_SPACED_DN_ANY_CASE = re.compile(rb'(?i)"distinguishedName"\s*:\s*"[^"\n]*(?:' + _SPACED + rb")")


def _spaced_dn_in(block: bytes, translated: bytes) -> bool:
    """Whether any line of the block spaces its DN; the case-sensitive search (fast: a literal
    prefix) is enough unless the attribute is spelled in another case somewhere in the block."""
    if translated.count(b" distinguishedname ") > block.count(b'"distinguishedName"'):
        return _SPACED_DN_ANY_CASE.search(block) is not None
    return _SPACED_DN_EXACT.search(block) is not None


PIECE_CACHE_LIMIT = 100_000


def words_of(value: str) -> list[str]:
    """The words the prefilter compares: split at whitespace, colons and quotes, ASCII lower-cased.

    Only ASCII letters are lowered, exactly as `bytes.translate` does on the file side; full
    Unicode folding happens in the slow path, which applies `fold()` before calling this.
    `str.split()` splits at Unicode whitespace, the same characters `str.strip()` (and so
    `fold`) removes; in a JSON line every whitespace but the space is escaped, so it only ever
    reaches this function through the slow path.
    """
    return value.translate(_WORD_TABLE).split()


def _key_values(key: str) -> list[str] | None:
    """The value part(s) of a key whose words must appear in a holder's line; None: unknown."""
    ns, sep, rest = key.partition(":")
    if not sep or ns not in KNOWN_NAMESPACES:
        return None
    if ns in _TYPED_NAMESPACES:
        _, sep, value = rest.partition(":")
        return [value] if sep else None
    if ns == addresses.ADDN:
        # The key's DN has no spaces around its commas, as AD writes DNs and `dupfix snapshot`
        # stores them; its longest space-free piece (`smith,ou=staff,dc=contoso,dc=com`) is a
        # selective word. A hand-written snapshot that spaces its DNs (`CN=x, OU=y`) is not
        # searched by this word: docs/semantics.md "What AD refuses" says so.
        return [rest]
    if ns == addresses.SAM:
        # sam:<domain>\<name>: the domain comes from the DN, so only the name is in the line.
        values = [rest[i + 1 :] for i, c in enumerate(rest) if c == "\\"]
        return values or None
    return [rest]


class _Matcher:
    """The wanted keys of one pass, turned into what the raw-line prefilter compares."""

    def __init__(self, keys: Iterable[str], discover_directories: bool = False):
        self.keys: frozenset[str] = frozenset(keys)
        self.parse_all = False
        words: set[str] = set()
        for key in self.keys:
            values = _key_values(key)
            if values is None:
                self.parse_all = True
                continue
            for value in values:
                found = words_of(value)
                if not found:
                    self.parse_all = True
                    continue
                words.add(max(found, key=len))
            if key.startswith(addresses.ANCHOR + ":"):
                guid = immutable_id_to_guid(key[len(addresses.ANCHOR) + 1 :])
                if guid:
                    words.update((guid, "{" + guid, guid + "}", "{" + guid + "}"))
        self.words: frozenset[str] = frozenset(words)
        self.discover = discover_directories
        # Sentinels are extra words whose lines get a look of their own: soft-deleted users (their
        # original UPN hides behind the id prefix) and, when the header doesn't say, directories.
        self.sentinels: set[str] = set()
        if any(k.startswith(addresses.UPN + ":") for k in self.keys):
            self.sentinels.add(SOFT_DELETED)
        if discover_directories:
            self.sentinels.update(DIRECTORIES)
        self.byte_words: set[bytes] = {w.encode("utf-8") for w in self.words | self.sentinels}
        self.upn_keys = frozenset(k for k in self.keys if k.startswith(addresses.UPN + ":"))
        self.dn_keys = any(k.startswith(addresses.ADDN + ":") for k in self.keys)
        self.piece_cache: dict[bytes, bool] = {}

    def forget_directory(self, directory: str) -> None:
        """Stop looking for a directory sentinel once that directory is known to be present."""
        if directory in self.sentinels:
            self.sentinels.discard(directory)
            if directory not in self.words:
                self.byte_words.discard(directory.encode())

    def learn_directory(self, line: bytes) -> None:
        """Forget a directory sentinel as soon as a line shows that directory is present."""
        try:
            directory = strict_loads(line.rstrip().rstrip(b",")).get("directory")
        except Exception:  # the parser will report the line
            return
        if isinstance(directory, str):
            self.forget_directory(directory)

    def is_sentinel_only(self, word: bytes) -> bool:
        text = word.decode("utf-8", "replace")
        return text in self.sentinels and text not in self.words

    def string_hits(self, text: str) -> bool:
        """Slow path for one decoded word: could it be (part of) a wanted key's value?

        Every normalisation a key applies is tried (fold for addresses, names and DNs, lower for
        ids, upper for SIDs, as written for anchors), and each is split into words as the key side
        was. The words of `fold(text)` include those of `fold(rest)` for a `type:rest` proxy,
        since NFC and casefold never cross a colon or a space.
        """
        if text in self.sentinels:
            return True
        forms: tuple[str, ...] = (text,) if text.isascii() else (fold(text), ad_fold(text), text.lower(), text.upper(), text)
        if self.dn_keys and "=" in text:  # a DN, as `addn:` keys write it (spacing and marks normalised)
            forms = (*forms, addresses.ad_dn_key(text).partition(":")[2])
        return any(word in self.words for form in forms for word in words_of(form))

    def soft_deleted_line_hits(self, line: bytes) -> bool:
        """Could this soft-deleted user's line hold a wanted UPN as its original UPN?

        Entra stores `<object id without dashes><original UPN>`, so no word of the line is the
        original UPN. The line is decoded (json.loads alone is cheap; validation and keys are
        not) and `original_upn` itself decides, so this check is exact. Anything odd makes the
        line a candidate, to be parsed and reported properly.
        """
        if not self.upn_keys:
            return False
        try:
            record = strict_loads(line.rstrip().rstrip(b","))
            upns = [v for k, v in record.items() if k.lower() == "userprincipalname"]
            obj = DirectoryObject(record["id"], "user", "entra", SOFT_DELETED, {"userPrincipalName": upns[0]})
            upn = original_upn(obj)
            return upn is not None and upn_key(upn) in self.upn_keys
        except Exception:  # malformed in any way: let the real parser name the problem
            return True

    def piece_hits(self, raw: bytes, decode: Callable[[bytes], str]) -> bool:
        """`string_hits` for a raw piece, remembered: names repeat (José, Müller, DN suffixes)."""
        hit = self.piece_cache.get(raw)
        if hit is None:
            if len(self.piece_cache) >= PIECE_CACHE_LIMIT:
                self.piece_cache.clear()
            hit = self.piece_cache[raw] = self.string_hits(decode(raw))
        return hit


# --- validation ------------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    from ...schemas import load_schema

    return load_schema("snapshot")


@cache
def _header_validator() -> Any:
    import jsonschema

    schema = _schema()
    header = dict(schema["$defs"]["header"])
    header["$defs"] = schema["$defs"]
    return jsonschema.Draft202012Validator(header, format_checker=jsonschema.FormatChecker())


# --- the source ------------------------------------------------------------------------------


class SnapshotSource:
    """A snapshot file as a `StateSource`: point look-ups by streaming, full scans for export."""

    def __init__(
        self, path: str, spec: str | None = None, *, verify: bool = False, workers: int | None = None,
        strict_inputs: bool = False,
    ) -> None:
        self.path = path
        self.workers = workers
        self.strict_inputs = strict_inputs
        self._notes: list[str] = []
        self._end_offset: int | None = None  # JSON Lines: where the end record starts
        self._end_count: int | None = None  # ... and the object count it gives
        self.spec = spec if spec is not None else f"{SCHEME}:{path}"
        self.verify = verify
        self._found: dict[ObjectRef, tuple[int, DirectoryObject, frozenset[str]]] = {}
        self._covered: set[str] = set()
        self._seen_directories: set[str] = set()
        self._directories_complete = False
        self._objects: list[tuple[int, DirectoryObject]] | None = None  # JSON documents only
        self._index: dict[str, list[int]] | None = None
        try:
            self._stat = os.stat(path)
        except FileNotFoundError:
            raise UserInputError(
                "snapshot file not found",
                location=Location(path),
                hint="check the path after `snapshot:`; `dupfix snapshot --output FILE` writes one",
            ) from None
        except OSError as exc:
            raise UserInputError(f"cannot read snapshot: {exc.strerror}", location=Location(path)) from exc
        if not stat.S_ISREG(self._stat.st_mode):
            raise UserInputError(
                "not a regular file (a directory, device, FIFO or socket)",
                location=Location(path),
                hint="a snapshot is read several times, so it must be a file: save it first",
            )
        self._open_header()
        if self.layout == "jsonl":
            self._find_end()
        if verify and self.layout != "json":
            for _ in self.scan():
                pass

    # -- header and layout ---------------------------------------------------------------------

    def _open_header(self) -> None:
        """Read the header, decide the layout, validate the header against the schema.

        Layouts: `jsonl` (header line, then one object per line), `json-lines` (a JSON document
        written one object per line, as `write_snapshot` does: streamed like JSON Lines), and
        `json` (any other JSON document: parsed whole, the small-tenant case).
        """
        with self._open() as fh:
            first = fh.readline()
            start = 0
            if first.startswith(BOM):
                first = first[len(BOM) :]
                start = len(BOM)
            line_no = 1
            while first and not first.strip():
                start += len(first)
                first = fh.readline()
                line_no += 1
            if not first:
                raise self._error("the file is empty; a snapshot starts with a header such as "
                                  '{"version": 1, "tenant": {...}}', line=1)  # fmt: skip
            body_offset = fh.tell()
        self._body_offset = body_offset
        stripped = first.strip()
        header: Any = None
        if stripped.endswith(b'"objects":['):
            self.layout = "json-lines"
            header = self._loads(stripped + b"]}", line_no)
            header.pop("objects", None)
        else:
            try:
                header = strict_loads(stripped)
                self.layout = "jsonl"
            except (ValueError, UnicodeDecodeError, RecursionError):
                # Not one JSON value per line: a JSON document spread over lines (the name is
                # only a hint). If it isn't one either, report it as the format it claims to be.
                self.layout = "json"
                if self.path.lower().endswith(JSONL_EXTENSIONS) and not self._parses_whole():
                    self._loads(stripped, line_no)  # raises, naming line and column
            if self.layout == "jsonl" and isinstance(header, dict) and "objects" in header:
                self.layout = "json"
        if self.layout == "json":
            self._document_start = start
            self._load_document()
        else:
            self._check_header(header, line_no)

    def _parses_whole(self) -> bool:
        with self._open() as fh:
            data = fh.read()
        try:
            json.loads(data[len(BOM) :] if data.startswith(BOM) else data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False
        return True

    def _load_document(self) -> None:
        """Parse a JSON document of any layout whole: the small-tenant format."""
        if self._stat.st_size > MAX_DOCUMENT_BYTES:
            raise self._error(
                f"a JSON snapshot of {self._stat.st_size // 2**20} MB is too large to read whole",
                hint="export it as JSON Lines (`dupfix snapshot --output tenant.jsonl`), which is streamed",
            )
        with self._open() as fh:
            data = fh.read()
        document = self._loads(data[self._document_start :], None)
        if not isinstance(document, dict):
            raise self._error("a snapshot must be a JSON object with version, tenant and objects", line=1)
        raw_objects = document.pop("objects", [])
        if not isinstance(raw_objects, list):
            raise self._error("must be a list of objects", field="objects")
        self._check_header(document, 1)
        objects = []
        seen: set[str] = set()
        for i, record in enumerate(raw_objects):
            problem = object_problem(record)
            if problem is not None:
                line = self._line_of_record(data, record, i)
                raise self._error(problem[1], line=line, field=f"objects[{i}].{problem[0]}".rstrip("."))
            obj = record_to_object(record)
            self._check_directory(obj, None)
            ident = f"{obj.directory}\n{obj.id}"
            if ident in seen:
                raise self._duplicate(obj, self._line_of_record(data, record, i))
            seen.add(ident)
            objects.append((i, obj))
        self._objects = objects
        self._directories_complete = True

    @staticmethod
    def _line_of_record(data: bytes, record: Any, index: int) -> int | None:
        """Best effort for JSON documents: the line of the object's `"id"`, else of the n-th `"id"`."""
        ident = record.get("id") if isinstance(record, dict) else None
        if isinstance(ident, str) and ident:
            for needle in (json.dumps(ident).encode(), json.dumps(ident, ensure_ascii=False).encode()):
                match = re.search(rb'"id"\s*:\s*' + re.escape(needle), data)
                if match:
                    return data.count(b"\n", 0, match.start()) + 1
        return None

    def _check_header(self, header: Any, line: int) -> None:
        if not isinstance(header, dict):
            raise self._error("the first line must be the snapshot header, a JSON object", line=line)
        version = header.get("version")
        if version != SNAPSHOT_VERSION:
            if version is None:
                raise self._error(
                    'the header has no "version"; a snapshot starts with {"version": 1, ...}',
                    line=line, field="version",
                )  # fmt: skip
            raise self._error(
                f"snapshot version {version} is not supported (this dupfix reads version {SNAPSHOT_VERSION})",
                line=line, field="version",
                hint="re-export it with this dupfix (`dupfix snapshot`) or upgrade dupfix",
            )  # fmt: skip
        errors = sorted(_header_validator().iter_errors(header), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            field = ".".join(str(p) for p in err.absolute_path) or None
            raise self._error(f"invalid snapshot header: {err.message}", line=line, field=field)
        tenant = header.get("tenant")
        self.tenant: Tenant | None = (
            Tenant(tenant.get("initialDomain") or None, tuple(tenant.get("verifiedDomains") or ()))
            if isinstance(tenant, dict)
            else None
        )
        self.as_of: str | None = header.get("asOf")
        self._end_promised = header.get(END_FLAG) is True
        declared = header.get("directories")
        self._declared: frozenset[str] | None = frozenset(declared) if declared is not None else None

    # -- StateSource ---------------------------------------------------------------------------

    @property
    def directories(self) -> frozenset[str]:
        """The header's `directories`, else those of the objects (found by a pass if need be)."""
        if self._declared is not None:
            return self._declared
        if not self._directories_complete:
            self._run_pass(_Matcher((), discover_directories=True))
        return frozenset(self._seen_directories)

    @property
    def info(self) -> SourceInfo:
        dirs = self.directories
        origin = "+".join(d for d in DIRECTORIES if d in dirs) or "none"
        return SourceInfo(self.spec, origin, self.as_of)

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> list[DirectoryObject]:
        """Objects holding any of `keys` or named by any of `targets`, in file order."""
        wanted = set(keys) | {target_key(t) for t in targets}
        if not wanted:
            return []
        if self.layout == "json":
            return self._lookup_in_memory(wanted)
        todo = wanted - self._covered
        if todo or (self._declared is None and not self._directories_complete):
            self._run_pass(_Matcher(todo, discover_directories=self._declared is None))
            self._covered |= todo
        hits = [(pos, obj) for pos, obj, held in self._found.values() if not held.isdisjoint(wanted)]
        return [obj for _, obj in sorted(hits, key=lambda h: h[0])]

    def scan(self) -> Iterator[DirectoryObject]:
        """Every object, validated, in file order (streamed for line layouts)."""
        if self.layout == "json":
            yield from (obj for _, obj in self._documents_objects())
            return
        seen: set[str] = set()
        count = 0
        for offset, line in self._lines():
            obj = self._parse_line(line, offset)
            if obj is not None:
                ident = f"{obj.directory}\n{obj.id}"
                if ident in seen:
                    raise self._duplicate(obj, self._line_number(offset))
                seen.add(ident)
                count += 1
                yield obj
        self._check_count(count)
        self._directories_complete = True

    def map_batches(self, work: Callable[[list[DirectoryObject]], R], workers: int) -> Iterator[R]:
        """`work(objects)` for consecutive batches of every object, in file order: `scan()` spread
        over `workers` forked children (the cache fill, `sources/cache/sync.py`).

        Each child reads, parses and validates its pieces of the file (byte ranges cut at line
        starts, about PIECE_BYTES each) and runs `work` on their objects there, so neither the
        parsing nor the work is done by the parent, which only gets `work`'s results. What needs
        the whole file stays here: duplicate ids across pieces, the end record's count, the
        directories seen. One process (`workers` 1, a JSON document) is `scan()` in batches.
        """
        size = self._stat.st_size - self._body_offset
        # Small files are read here (forking costs more than it saves), as `parallel_workers` decides
        # for look-ups; DUPFIX_SNAPSHOT_WORKERS (or the `workers` option) forces a count.
        workers = min(workers, parallel_workers(size, self.workers))
        if self.layout == "json" or workers <= 1:
            batch: list[DirectoryObject] = []
            for obj in self.scan():
                batch.append(obj)
                if len(batch) >= IN_PROCESS_BATCH:
                    yield work(batch)
                    batch = []
            if batch:
                yield work(batch)
            return
        self._check_unchanged()
        self._check_last_line()
        pieces = self._ranges(max(workers, -(-size // PIECE_BYTES)))

        def in_child(piece: tuple[int, int]) -> tuple[str | list[str], set[str], R]:
            objects = self._objects_in(*piece)
            idents = [f"{obj.directory}\n{obj.id}" for obj in objects]
            # One string, split again in the parent, is cheaper to send than a list of strings;
            # an id holding the separator itself (JSON allows "\u0000") is sent as the list.
            joined = "\0".join(idents)
            sent = joined if joined.count("\0") == max(len(idents) - 1, 0) else idents
            return sent, self._seen_directories, work(objects)

        seen: set[str] = set()
        count = 0
        for piece, (joined, directories, result) in zip(
            pieces, forking.ordered_map(in_child, pieces, workers, "a snapshot reading worker"), strict=True
        ):
            idents = joined if isinstance(joined, list) else (joined.split("\0") if joined else [])
            mine: set[str] = set()
            for ident in idents:
                if ident in seen:
                    raise self._duplicate_in(piece, ident, earlier=ident not in mine)
                seen.add(ident)
                mine.add(ident)
            count += len(idents)
            self._seen_directories |= directories
            yield result
        self._check_unchanged()
        self._check_count(count)
        self._directories_complete = True

    def _objects_in(self, start: int, end: int) -> list[DirectoryObject]:
        parsed = (self._parse_line(line, offset) for offset, line in self._lines_in(start, end))
        return [obj for obj in parsed if obj is not None]

    def _duplicate_in(self, piece: tuple[int, int], ident: str, earlier: bool) -> UserInputError:
        """The error naming the line where `ident` appears again: its first line in `piece` when
        an earlier piece held it, else its second (only on that error: the piece is read again)."""
        wanted = 1 if earlier else 2
        for offset, line in self._lines_in(*piece):
            obj = self._parse_line(line, offset)
            if obj is not None and f"{obj.directory}\n{obj.id}" == ident:
                wanted -= 1
                if not wanted:
                    return self._duplicate(obj, self._line_number(offset))
        return self._error(f"object {ident.split(chr(10))[-1]} appears twice", field="id")

    def _check_count(self, count: int) -> None:
        if self._end_count is not None and count != self._end_count:
            raise StateUnavailableError(
                f"the end record says {self._end_count} objects, but the snapshot holds {count}",
                location=Location(self.path),
                hint="lines were lost or added after the export: export the snapshot again",
            )

    def _duplicate(self, obj: DirectoryObject, line: int | None) -> UserInputError:
        return self._error(
            f"object {obj.id} ({obj.directory}) appears twice",
            line=line, field="id",
            hint="each object is listed once; export the snapshot again",
        )  # fmt: skip

    def report_notes(self, covered: frozenset[str]) -> list[str]:
        """What the reader noticed without failing (a snapshot without an end record)."""
        return list(self._notes)

    def _find_end(self) -> None:
        """Find the end record of a JSON Lines snapshot, or decide what its absence means.

        Absent although the header promises it: the file was cut short (exit 3). Absent in a file
        that never promised it (another tool, an older dupfix): a note, or exit 3 with
        --strict-inputs, since such a cut can't be told from a complete file.
        """
        size = self._stat.st_size
        with self._open() as fh:
            fh.seek(max(self._body_offset, size - 65536))
            tail = fh.read()
        body = tail.rstrip()
        start = body.rfind(b"\n") + 1
        last = body[start:].strip()
        record: Any = None
        if last.startswith(b'{"' + END_KEY.encode()):
            with contextlib.suppress(ValueError):
                record = strict_loads(last)
        end = record.get(END_KEY) if isinstance(record, dict) and len(record) == 1 else None
        if isinstance(end, dict) and type(end.get("objects")) is int and end["objects"] >= 0:
            self._end_offset = size - len(tail) + start
            self._end_count = end["objects"]
            return
        if self._end_promised:
            raise StateUnavailableError(
                "the snapshot ends without its end record: it was cut short, so objects are missing",
                location=Location(self.path, self._line_number(size - len(tail) + start)),
                hint="export it again with `dupfix snapshot` and make sure the copy completes",
            )
        message = (
            f"{self.spec}: the snapshot has no end record, so a file cut short can't be told from a "
            "complete one; export it with `dupfix snapshot` to get one"
        )
        if self.strict_inputs:
            raise StateUnavailableError(message, location=Location(self.path), hint="--strict-inputs refuses it")
        self._notes.append(message)

    def close(self) -> None:
        """Drop what look-ups remembered; the file itself is opened only during a pass."""
        self._found.clear()
        self._covered.clear()
        self._objects = None
        self._index = None

    # -- in-memory documents -------------------------------------------------------------------

    def _lookup_in_memory(self, wanted: set[str]) -> list[DirectoryObject]:
        """JSON documents are parsed whole anyway; index their keys once, answer from the index."""
        objects = self._documents_objects()
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, obj in objects:
                for key in all_lookup_keys(obj):
                    index.setdefault(key, []).append(i)
            self._index = index
        positions = sorted({i for key in wanted for i in self._index.get(key, ())})
        return [objects[i][1] for i in positions]

    def _documents_objects(self) -> list[tuple[int, DirectoryObject]]:
        if self._objects is None:  # closed, then used again: read it again
            self._load_document()
        assert self._objects is not None
        return self._objects

    # -- streaming -----------------------------------------------------------------------------

    def _open(self) -> Any:
        try:
            return open(self.path, "rb")
        except OSError as exc:
            message = f"cannot read snapshot: {exc.strerror}"
            raise UserInputError(message, location=Location(self.path)) from exc

    def _check_unchanged(self) -> None:
        st = os.stat(self.path)
        if (st.st_size, st.st_mtime_ns) != (self._stat.st_size, self._stat.st_mtime_ns):
            raise UserInputError(
                "the snapshot changed while dupfix was reading it",
                location=Location(self.path),
                hint="run the check again once the export has finished",
            )

    def _chunks(self, start: int | None = None, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) of the body (or of [start, end), cut at line breaks) in large pieces."""
        offset = self._body_offset if start is None else start
        stop = self._stat.st_size if end is None else end
        with self._open() as fh:
            fh.seek(offset)
            carry = b""
            while offset + len(carry) < stop:
                data = fh.read(min(READ_SIZE, stop - offset - len(carry)))
                if not data:
                    break
                data = carry + data
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                carry = data[cut:]
                yield offset, data[:cut]
                offset += cut
            if carry.strip():
                yield offset, carry

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """Every body line with its offset, for `scan` and `verify`."""
        self._check_unchanged()
        self._check_last_line()
        yield from self._lines_in()

    def _lines_in(self, start: int | None = None, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """The lines of the body (or of [start, end), cut at line breaks) with their offsets."""
        for offset, chunk in self._chunks(start, end):
            pos = 0
            for line in chunk.splitlines(keepends=True):
                yield offset + pos, line
                pos += len(line)

    def _run_pass(self, matcher: _Matcher) -> None:
        """One streaming pass: parse the candidate lines and remember the objects that match."""
        for offset, line in self._candidates(matcher):
            obj = self._parse_line(line, offset)
            if obj is None:
                continue
            matcher.forget_directory(obj.directory)
            if obj.ref in self._found:
                if self._found[obj.ref][0] != offset:
                    raise self._duplicate(obj, self._line_number(offset))
                continue
            held = frozenset(all_lookup_keys(obj))
            if not held.isdisjoint(matcher.keys):
                self._found[obj.ref] = (offset, obj, held)
        if matcher.discover:
            self._directories_complete = True

    def _candidates(self, matcher: _Matcher) -> list[tuple[int, bytes]]:
        """(offset, raw line) of every line the prefilter can't rule out for `matcher`.

        A large file is cut into ranges at line breaks and scanned by forked workers (the
        parent scans the first range itself), since the prefilter is CPU-bound and the
        machines checks run on have a few cores: see `parallel_workers`.
        """
        self._check_unchanged()
        self._check_last_line()
        ranges = self._ranges(parallel_workers(self._stat.st_size - self._body_offset, self.workers))
        if len(ranges) == 1:
            return self._scan_range(matcher, *ranges[0])
        children = []
        try:
            children = [forking.fork_call(self._scan_range, matcher, start, end) for start, end in ranges[1:]]
            found = self._scan_range(matcher, *ranges[0])
            for child in children:
                found.extend(forking.collect(child, "a snapshot scan worker"))
            children = []
        finally:
            for pid, _ in children:  # the parent failed: don't leave workers behind
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
        return found

    def _ranges(self, count: int) -> list[tuple[int, int]]:
        """`count` byte ranges of the body, each starting at a line start."""
        start, size = self._body_offset, self._stat.st_size
        cuts = [start]
        with self._open() as fh:
            for i in range(1, count):
                fh.seek(start + (size - start) * i // count)
                fh.readline()
                cut = fh.tell()
                if cuts[-1] < cut < size:
                    cuts.append(cut)
        cuts.append(size)
        return list(itertools.pairwise(cuts))

    def _scan_range(self, matcher: _Matcher, start: int, end: int) -> list[tuple[int, bytes]]:
        found: list[tuple[int, bytes]] = []
        for chunk_offset, chunk in self._chunks(start, end):
            size = len(chunk)
            pos = 0
            while pos < size:
                stop = chunk.find(b"\n", pos + BLOCK_SIZE)
                stop = size if stop < 0 else stop + 1
                block = chunk[pos:stop]
                for line_start in self._block_candidates(block, matcher, chunk_offset + pos):
                    line_end = block.find(b"\n", line_start)
                    line_end = len(block) if line_end < 0 else line_end + 1
                    found.append((chunk_offset + pos + line_start, block[line_start:line_end]))
                pos = stop
        return found

    def _block_candidates(self, block: bytes, matcher: _Matcher, block_offset: int) -> list[int]:
        """Start offsets (within `block`) of the candidate lines, in order."""
        translated = block.translate(_TABLE)
        control = _RAW_CONTROL.search(block) if b"\x00" in translated else None
        if control is not None:
            raise self._error(
                f"raw control character 0x{block[control.start()]:02x} (JSON strings must escape it as \\u00XX)",
                line=self._line_number(block_offset + control.start()),
                hint="fix the line or export the snapshot again",
            )
        if matcher.parse_all:
            return [0, *(p + 1 for p in _all_positions(block, b"\n") if p + 1 < len(block))]
        hits = matcher.byte_words.intersection(translated.split())
        special = b"\\" in block or not block.isascii()
        spaced = matcher.dn_keys and _spaced_dn_in(block, translated)
        if not hits and not special and not spaced:
            return []
        lines: set[int] = set()
        if spaced:
            # A DN spaced otherwise than AD writes it (`CN=x, OU=y`) hides the canonical DN word
            # the `addn:` keys look for: such (rare) lines are parsed and matched exactly.
            for m in _SPACED_DN_ANY_CASE.finditer(block):
                lines.add(block.rfind(b"\n", 0, m.start()) + 1)
        for word in hits:
            sentinel = matcher.is_sentinel_only(word)
            needle = b" " + word + b" "
            pos = translated.find(needle)
            while pos >= 0:
                start = block.rfind(b"\n", 0, pos) + 1
                if word == b"soft-deleted" and sentinel:
                    end = block.find(b"\n", pos)
                    if matcher.soft_deleted_line_hits(block[start : len(block) if end < 0 else end]):
                        lines.add(start)
                else:
                    lines.add(start)
                    if sentinel:
                        end = block.find(b"\n", pos)
                        matcher.learn_directory(block[start : len(block) if end < 0 else end])
                        break  # one line per block is enough to learn that the directory is present
                pos = translated.find(needle, pos + 1)
        if special:
            lines |= self._special_candidates(block, translated, matcher, block_offset, lines)
        return sorted(lines)

    def _special_candidates(
        self, block: bytes, translated: bytes, matcher: _Matcher, block_offset: int, known: set[int]
    ) -> set[int]:
        """Lines whose non-ASCII or escaped words could hold a wanted key (the slow path).

        Walks the positions of non-ASCII bytes and backslashes. The word around each is bounded
        by separators (a JSON escape never contains a space, colon or quote, except `\\"`: a line
        with an escaped quote is parsed whole), decoded on its own (UTF-8, JSON escapes) and
        checked in every normalisation (`_Matcher.string_hits`). Words without either were
        already seen by the fast path, even inside an escaped string.
        """
        out: set[int] = set()
        size = len(block)
        next_high = translated.find(b"\x80")
        next_escape = block.find(b"\\")
        while next_high >= 0 or next_escape >= 0:
            pos = next_high if next_escape < 0 or 0 <= next_high < next_escape else next_escape
            line_start = block.rfind(b"\n", 0, pos) + 1
            line_end = block.find(b"\n", pos)
            line_end = size if line_end < 0 else line_end
            resume = line_end
            if line_start not in known and line_start not in out:
                if b'\\"' in block[line_start:line_end]:
                    out.add(line_start)  # quotes can't bound words on this line: parse it whole
                else:
                    p0 = translated.rfind(b" ", line_start, pos)
                    p0 = line_start if p0 < 0 else p0 + 1
                    p1 = translated.find(b" ", pos, line_end)
                    p1 = line_end if p1 < 0 else p1
                    offset = block_offset + p0
                    if matcher.piece_hits(block[p0:p1], lambda raw, at=offset: self._decode_string(raw, at)):  # type: ignore[misc]
                        out.add(line_start)
                    else:
                        resume = p1 + 1
            if next_high < resume:
                next_high = translated.find(b"\x80", resume)
            if next_escape < resume:
                next_escape = block.find(b"\\", resume)
        return out

    def _decode_string(self, raw: bytes, offset: int) -> str:
        try:
            if b"\\" in raw:
                value = json.loads(b'"' + raw + b'"')
                value = value if isinstance(value, str) else str(value)
                value.encode("utf-8")  # a lone surrogate escape can't be: refuse it here too
                return value
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self._line_number(offset)
            raise self._error("not valid UTF-8 (snapshots are UTF-8)", line=line) from exc
        except UnicodeEncodeError:
            raise self._error(
                "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)", line=self._line_number(offset)
            ) from None
        except json.JSONDecodeError as exc:
            raise self._error(
                f"invalid JSON string escape: {exc.msg}", line=self._line_number(offset)
            ) from exc

    def _check_last_line(self) -> None:
        """A truncated export is the most likely corruption: the last line must be complete."""
        size = self._stat.st_size
        with self._open() as fh:
            fh.seek(max(self._body_offset, size - 65536))
            tail = fh.read()
        last_line = tail[tail.rstrip().rfind(b"\n") + 1 :]
        end = last_line.strip()
        if not end:
            return
        expected = b"]}" if self.layout == "json-lines" else b"}"
        if not end.endswith(expected):
            if self.layout == "json-lines" and end.endswith((b"},", b"}")):
                raise StateUnavailableError(
                    "the snapshot ends after an object, without the closing `]}`: it was cut short",
                    location=Location(self.path, self._line_number(size - len(last_line))),
                    hint="export the snapshot again",
                )
            raise self._error(
                "the last line is incomplete (was the export cut short?)",
                line=self._line_number(size - len(last_line)),
                hint="export the snapshot again",
            )

    def _parse_line(self, line: bytes, offset: int) -> DirectoryObject | None:
        """Parse and validate one body line; None for blank lines and the JSON document's end."""
        text = line.strip()
        if not text or offset == self._end_offset:
            return None
        if self.layout == "json-lines":
            if text == b"]}":
                return None
            if text.endswith(b","):
                text = text[:-1]
        obj = plain_line_object(text)
        if obj is not None:
            if self._declared is not None and obj.directory not in self._declared:
                self._check_directory(obj, self._line_number(offset))
            self._seen_directories.add(obj.directory)
            return obj
        try:
            record = strict_loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):
            self._loads(text, self._line_number(offset))  # raises, naming the line
            raise
        problem = object_problem(record)
        if problem is not None:
            raise self._error(problem[1], line=self._line_number(offset), field=problem[0] or None,
                              hint="fix the object or export the snapshot again")  # fmt: skip
        obj = record_to_object(record)
        if self._declared is not None and obj.directory not in self._declared:
            self._check_directory(obj, self._line_number(offset))
        self._seen_directories.add(obj.directory)
        return obj

    def _check_directory(self, obj: DirectoryObject, line: int | None) -> None:
        self._seen_directories.add(obj.directory)
        if self._declared is not None and obj.directory not in self._declared:
            raise self._error(
                f"object {obj.id} is in directory {obj.directory!r}, but the header says the snapshot "
                f"covers only {', '.join(sorted(self._declared)) or 'no directory'}",
                line=line, field="directory",
            )  # fmt: skip

    # -- errors --------------------------------------------------------------------------------

    def _line_number(self, offset: int) -> int:
        """Line number of a byte offset, counted only when an error needs it (it costs a read)."""
        count = 0
        with self._open() as fh:
            while offset > 0:
                data = fh.read(min(offset, READ_SIZE))
                if not data:
                    break
                count += data.count(b"\n")
                offset -= len(data)
        return count + 1

    def _loads(self, text: bytes, line: int | None) -> Any:
        try:
            return strict_loads(text)
        except UnicodeDecodeError as exc:
            raise self._error("not valid UTF-8 (snapshots are UTF-8)", line=line) from exc
        except RecursionError:
            raise self._error("not valid JSON: nested too deeply", line=line) from None
        except JsonProblem as exc:
            raise self._error(str(exc), line=line, hint="fix the line or export the snapshot again") from None
        except json.JSONDecodeError as exc:
            where = line if line is not None else exc.lineno
            if line is not None and exc.lineno > 1:
                where = line + exc.lineno - 1
            raise self._error(
                f"not valid JSON: {exc.msg} (column {exc.colno})",
                line=where,
                hint="each line of a JSON Lines snapshot is one JSON object",
            ) from exc
        except ValueError as exc:  # e.g. an integer longer than Python's digit limit
            raise self._error(f"not valid JSON: {exc}", line=line) from None

    def _error(self, message: str, *, line: int | None = None, field: str | None = None,
               hint: str | None = None) -> UserInputError:  # fmt: skip
        return UserInputError(message, location=Location(self.path, line), field=field, hint=hint)


def _all_positions(data: bytes, needle: bytes) -> list[int]:
    out: list[int] = []
    pos = data.find(needle)
    while pos >= 0:
        out.append(pos)
        pos = data.find(needle, pos + 1)
    return out


# --- parallel passes -------------------------------------------------------------------------

PARALLEL_MIN_BYTES = 32 * 1024 * 1024
PIECE_BYTES = 4 * 1024 * 1024  # map_batches: a child's unit of work (~8,000 objects)
IN_PROCESS_BATCH = 5_000
WORKERS_ENV = "DUPFIX_SNAPSHOT_WORKERS"


def parallel_workers(body_size: int, requested: int | None = None) -> int:
    """How many processes scan a body of `body_size` bytes.

    One below PARALLEL_MIN_BYTES (forking costs more than it saves), else one per CPU this
    process may use, at most 4 (reading the file becomes the limit). Forking is used only on
    Linux, where it is cheap and safe for this single-threaded pass. `workers` (source option)
    or DUPFIX_SNAPSHOT_WORKERS overrides the count; 1 turns it off.
    """
    if requested is None:
        env = os.environ.get(WORKERS_ENV, "").strip()
        requested = int(env) if env.isdigit() else None
    if requested is None:
        if body_size < PARALLEL_MIN_BYTES:
            return 1
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        requested = min(cpus, 4)
    if requested <= 1 or not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 1
    return requested


# --- plugin ----------------------------------------------------------------------------------


def create(spec: str, options: Mapping[str, Any]) -> SnapshotSource:
    """`snapshot:PATH` -> SnapshotSource. Option `verify`: validate every line at open."""
    scheme, sep, path = spec.partition(":")
    if scheme != SCHEME or not sep or not path:
        raise UserInputError(
            f"bad source {spec!r}",
            hint="write snapshot:PATH, e.g. --source snapshot:tenant.jsonl",
        )
    workers = options.get("workers")
    return SnapshotSource(
        os.path.expanduser(path),
        spec,
        verify=bool(options.get("verify", False)),
        workers=int(workers) if workers is not None else None,
        strict_inputs=bool(options.get("strict_inputs", False)),
    )


