"""Stream every source's `scan()` once and keep only the objects that can be in a conflict.

Why it is shaped this way: a million-object tenant as `DirectoryObject`s costs several GB, but
only a few thousand objects are in conflicts. So one pass over `scan()` keeps, per object:

- its claim keys as 64-bit hashes in `first` (hash -> the first object that held it), and in
  `extra` only the hashes that a second *identity* also holds, with every such holder. UPN `x`
  and the address `smtp:x` share a hash, because they collide too (DUP003). A hash collision can
  only make a key look shared; phase two recomputes the exact keys, so it never invents a
  conflict, and equal keys always hash equal, so it never hides one;
- its link keys (anchors, SIDs), exactly, to group AD objects with their Entra twins as the
  check's `index.link_twins` does (union-find, as objects arrive): twins hold the same keys
  without being a conflict, and an object is linked before its keys are counted, so a twin never
  looks like a second holder whichever comes first. Merging never goes beyond `link_twins`, so
  no real conflict is dropped here;
- the object itself, `marshal`ed into a temporary spool file (disk, not memory).

Phase two reads back only the objects that hold a shared key or a quarantined value, with their
twins, and `conflicts.find_conflicts` judges those exactly like a small tenant. Objects are
identified across sources by (directory, id): an object two sources both return counts once, the
first one read, as in the check.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from .. import forking
from ..addresses import ANCHOR, SID, UPN, claims_of, link_keys_of
from ..forking import WorkerDied
from ..interfaces import StateSource
from ..model import DirectoryObject, Quarantined
from ..progress import LineProgress
from ..sources.ldap.entries import object_skip_reason

SMTP_PREFIX = "proxy:smtp:"
_UPN_PREFIX = UPN + ":"
_STRICT_PREFIXES = (ANCHOR + ":", SID + ":")  # DUP008 counts Entra objects, not identities


@dataclass(frozen=True)
class Collected:
    """What phase two needs: the candidate objects, the keys to judge, and what was read."""

    objects: list[DirectoryObject]
    keys: set[str]
    scanned: int  # objects read, each counted once
    repeated: int  # objects a second source returned again (same directory and id)
    source_of: dict[tuple[str, str], int]  # (directory, id) of each candidate -> source index
    # AD objects left out as IdFix leaves them out (ldap_entries.object_skip_reason):
    # reason -> (how many, the first few names).
    excluded: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)


class Progress(LineProgress):
    """`audit: 123,456 objects read from snapshot:x.jsonl (45,000/s)`, drawn by `progress.py`."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None):
        super().__init__(enabled, stream)
        self.spec = ""

    @classmethod
    def for_terminal(cls, quiet: bool, stream: IO[str] | None = None) -> Progress:
        return cls(cls.wanted(quiet, stream), stream)

    def line(self, count: int) -> str:
        return f"audit: {count:,} objects read from {self.spec} ({count / self.elapsed():,.0f}/s)"

    def update(self, count: int, force: bool = False) -> None:
        self.draw(self.line(count), force)

    def finish(self, count: int) -> None:
        self.close(self.line(count))


class _Spool:
    """Objects marshalled to an anonymous temporary file, read back by position."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="dupfix-audit-")  # noqa: SIM115 (closed by close())
        self.offsets = array("q")
        self.size = 0

    def add(self, obj: DirectoryObject) -> None:
        quarantined = tuple((q.property, q.value) for q in obj.quarantined)
        try:
            attributes = obj.attributes if type(obj.attributes) is dict else dict(obj.attributes)
            data = marshal.dumps((obj.id, obj.kind, obj.directory, obj.state, attributes, quarantined))
        except ValueError:  # a value marshal can't write (a source's own type): keep its text
            attributes = {
                k: v if isinstance(v, (str, bool, tuple)) else str(v) for k, v in obj.attributes.items()
            }
            data = marshal.dumps((obj.id, obj.kind, obj.directory, obj.state, attributes, quarantined))
        self.offsets.append(self.size)
        self.file.write(data)
        self.size += len(data)

    def read(self, indices: Iterable[int]) -> list[DirectoryObject]:
        self.file.flush()
        out = []
        total = len(self.offsets)
        for i in sorted(indices):
            start = self.offsets[i]
            end = self.offsets[i + 1] if i + 1 < total else self.size
            self.file.seek(start)
            out.append(_load(self.file.read(end - start)))
        self.file.seek(0, 2)
        return out

    def close(self) -> None:
        self.file.close()


class _Links:
    """Union-find over object numbers, joined exactly where `index.link_twins` joins them: an
    Entra object with every AD object that shares one of its link keys (anchor or SID)."""

    def __init__(self) -> None:
        self.parent = array("q")
        self.ad: dict[str, Any] = {}  # link key -> AD object number (or a list of them)
        self.entra: dict[str, Any] = {}

    def add(self, i: int) -> None:
        self.parent.append(i)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def link(self, i: int, directory: str, keys: Iterable[str]) -> None:
        mine, theirs = (self.ad, self.entra) if directory == "ad" else (self.entra, self.ad)
        for key in keys:
            _append(mine, key, i)
            other = theirs.get(key)
            if other is None:
                continue
            for j in other if isinstance(other, list) else (other,):
                self.union(i, j)


def _append(table: dict[str, Any], key: str, i: int) -> None:
    old = table.get(key)
    if old is None:
        table[key] = i
    elif isinstance(old, list):
        old.append(i)
    else:
        table[key] = [old, i]


def _bucket_hash(key: str) -> int:
    if key.startswith(_UPN_PREFIX):
        return hash(SMTP_PREFIX + key[len(_UPN_PREFIX) :])
    return hash(key)


class _KeyCount:
    """Phase one's memory: key hashes, first holders, shared keys, twins (see the docstring)."""

    def __init__(self) -> None:
        self.links = _Links()
        self.first: dict[int, int] = {}
        self.extra: dict[int, list[int]] = {}
        self.always: list[int] = []  # objects with quarantined values: DUP012 whoever else holds them
        self.count = 0

    def add(self, obj: DirectoryObject) -> None:
        i = self.count
        self.count += 1
        links = self.links
        links.add(i)
        link_keys = link_keys_of(obj)
        if link_keys:
            links.link(i, obj.directory, link_keys)
        if obj.quarantined:
            self.always.append(i)
        hashes: dict[int, bool] = {}
        directory = obj.directory
        for claim in claims_of(obj):  # _bucket_hash inlined: this loop runs once per key
            key = claim.key
            if key.startswith(_STRICT_PREFIXES):
                # Anchors and SIDs: an AD object and its Entra twin share them by design, two
                # objects of one directory never may (DUP008), so they are counted per directory.
                h = hash((directory, key))
                hashes[h] = True
                continue
            h = hash(SMTP_PREFIX + key[4:]) if key.startswith(_UPN_PREFIX) else hash(key)
            hashes[h] = hashes.get(h, False)
        first, extra = self.first, self.extra
        for h, strict in hashes.items():
            j = first.setdefault(h, i)
            if j == i:
                continue
            if strict or links.find(j) != links.find(i):
                holders = extra.get(h)
                if holders is None:
                    extra[h] = [j, i]
                else:
                    holders.append(i)

    def result(self) -> tuple[list[int], set[int]]:
        """The objects phase two must read (holders of a shared key or a quarantined value, and
        their twins: identities are judged whole), and the shared key hashes."""
        candidates = set(self.always)
        for holders in self.extra.values():
            candidates.update(holders)
        roots = {self.links.find(i) for i in candidates}
        if roots:
            find = self.links.find
            candidates.update(i for i in range(self.count) if find(i) in roots)
        return sorted(candidates), set(self.extra)


def collect(
    sources: Sequence[StateSource],
    progress: Progress | None = None,
    workers: int | None = None,
    inspect: Callable[[DirectoryObject], None] | None = None,
) -> Collected:
    """Phase one over every source's `scan()`, then phase two: the candidates, exactly.

    Reading a source (parsing, network) and counting keys are both CPU-bound, so on Linux the
    counting runs in a forked worker that reads the spooled objects while this process reads the
    sources (`workers=1` or DUPFIX_AUDIT_WORKERS=1 keeps it in one process). Both give the same
    answer: the worker sees the same objects in the same order.
    """
    progress = progress or Progress(False)
    spool = _Spool()
    try:
        worker = _Worker.start(spool) if _use_worker(workers) else None
        counter = _KeyCount() if worker is None else None
        seen: set[str] = set()
        excluded: dict[str, tuple[int, tuple[str, ...]]] = {}
        origin = array("b")
        repeated = count = 0
        try:
            for number, source in enumerate(sources):
                progress.spec = source.spec
                for obj in source.scan():
                    reason = object_skip_reason(obj) if obj.directory == "ad" else None
                    if reason is not None:
                        n, names = excluded.get(reason, (0, ()))
                        excluded[reason] = (n + 1, names if len(names) >= 3 else (*names, obj.display))
                        continue
                    ident = f"{obj.directory}\n{obj.id}"
                    if ident in seen:
                        repeated += 1
                        continue
                    seen.add(ident)
                    count += 1
                    if inspect is not None:  # rules with an `audit` function see every object once
                        inspect(obj)
                    spool.add(obj)
                    origin.append(min(number, 127))
                    if counter is not None:
                        counter.add(obj)
                    elif count % BATCH == 0:
                        worker.send(spool)  # type: ignore[union-attr]
                    if count % 1024 == 0:
                        progress.update(count)
                progress.finish(count)
        except BaseException:
            if worker is not None:
                worker.abort()
            raise
        del seen
        candidates, shared = counter.result() if counter is not None else worker.finish(spool)  # type: ignore[union-attr]
        collected = _phase_two(spool, candidates, shared, origin, count, repeated)
        return replace(collected, excluded=excluded) if excluded else collected
    finally:
        spool.close()


WORKERS_ENV = "DUPFIX_AUDIT_WORKERS"
BATCH = 2048  # objects per message to the worker


def _use_worker(requested: int | None) -> bool:
    if requested is None:
        env = os.environ.get(WORKERS_ENV, "").strip()
        requested = int(env) if env.isdigit() else None
    if requested is not None and requested <= 1:
        return False
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if requested is None:
        try:
            return len(os.sched_getaffinity(0)) > 1
        except (AttributeError, OSError):
            return (os.cpu_count() or 1) > 1
    return True


class _Worker:
    """A forked process that counts the keys of spooled objects while the parent reads sources.

    The parent sends (offset, length) pairs of newly spooled objects in batches through a pipe
    (after flushing the spool), then an empty batch; the worker reads them with `os.pread`, runs
    `_KeyCount`, and sends back the pickled result. Nothing else is shared.
    """

    def __init__(self, child: forking.Child, to_worker: int):
        self.child = child
        self.pid = child[0]
        self.to_worker = to_worker
        self.sent = 0

    @classmethod
    def start(cls, spool: _Spool) -> _Worker:
        down_r, down_w = os.pipe()
        child = forking.fork_call(_work_in_child, spool.file.fileno(), down_r, down_w)
        os.close(down_r)
        return cls(child, down_w)

    def send(self, spool: _Spool) -> None:
        spool.file.flush()
        offsets = spool.offsets
        todo = array("q")
        for i in range(self.sent, len(offsets)):
            end = offsets[i + 1] if i + 1 < len(offsets) else spool.size
            todo.append(offsets[i])
            todo.append(end - offsets[i])
        self.sent = len(offsets)
        self._write(len(todo).to_bytes(8, "little") + todo.tobytes())

    def _write(self, data: bytes) -> None:
        """A write to a dead worker is a crash of the audit (exit 4), never a closed-output pass."""
        try:
            _write_all(self.to_worker, data)
        except OSError as exc:  # BrokenPipeError: the worker is gone
            raise WorkerDied(f"the audit's key-counting worker died ({self._status()}): {exc.strerror}") from None

    def _status(self) -> str:
        try:
            _, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return "already reaped"
        if status and os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        if status and os.WIFEXITED(status):
            return f"exit status {os.WEXITSTATUS(status)}"
        return "pipe closed"

    def finish(self, spool: _Spool) -> tuple[list[int], set[int]]:
        self.send(spool)
        self._write((0).to_bytes(8, "little"))
        os.close(self.to_worker)
        return forking.collect(self.child, "the audit's key-counting worker")  # type: ignore[no-any-return]

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.to_worker)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGTERM)
        forking.reap(self.child)


def _work_in_child(spool_fd: int, down_r: int, down_w: int) -> tuple[list[int], set[int]]:
    """The worker's side: it keeps only the read end of the parent's pipe."""
    os.close(down_w)
    return _work(spool_fd, down_r)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the audit's parent closed the pipe early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _work(spool_fd: int, pipe_fd: int) -> tuple[list[int], set[int]]:
    counter = _KeyCount()
    while True:
        size = int.from_bytes(_read_exactly(pipe_fd, 8), "little")
        if size == 0:
            return counter.result()
        pairs = array("q")
        pairs.frombytes(_read_exactly(pipe_fd, size * 8))
        for n in range(0, len(pairs), 2):
            counter.add(_load(os.pread(spool_fd, pairs[n + 1], pairs[n])))


def _load(data: bytes) -> DirectoryObject:
    oid, kind, directory, state, attributes, quarantined = marshal.loads(data)
    return DirectoryObject(
        oid, kind, directory, state, attributes, tuple(Quarantined(p, v) for p, v in quarantined)
    )


def _phase_two(
    spool: _Spool, candidates: list[int], shared: set[int], origin: array, count: int, repeated: int
) -> Collected:
    objects = spool.read(candidates)
    keys: set[str] = set()
    for obj in objects:
        for claim in claims_of(obj):
            if _bucket_hash(claim.key) in shared or hash((obj.directory, claim.key)) in shared:
                keys.add(claim.key)
    source_of = {(o.directory, o.id): origin[i] for o, i in zip(objects, candidates, strict=True)}
    return Collected(objects, keys, count, repeated, source_of)
