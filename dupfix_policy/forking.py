"""Work in a forked child, one way: the result comes back through a pipe, a death is noticed.

The snapshot scan (`sources/snapshot/source.py`) and the cache fill (`sources/cache/sync.py`,
through `ordered_map`) split CPU-bound work over forked children, and the audit
(`audit/collect.py`) counts keys in one.
A child that dies (killed, out of memory) must never look like "no result": every parent here
reads the pipe, checks the wait status and raises `WorkerDied`, which the CLI reports as exit 4,
never a pass. A `UserInputError` or `ValueError` the work raises is raised again in the parent.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import UserInputError


class WorkerDied(RuntimeError):
    """A forked worker ended without its result: the run cannot vouch for its answer (exit 4)."""


Child = tuple[int, int]  # (pid, read end of the pipe the child writes its result to)


def usable() -> bool:
    """Forking is used on Linux only (elsewhere the work runs in this process)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def fork_call(work: Callable[..., Any], *args: Any) -> Child:
    """Run `work(*args)` in a forked child; its result (or its error) is pickled to a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: work, send, and leave without running any cleanup
        status = 0
        try:
            os.close(read_fd)
            result = _outcome(work, *args)
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _outcome(work: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What a child sends back: its result, or its error in a form `_unpack` raises again."""
    try:
        return ("ok", work(*args))
    except UserInputError as exc:
        return ("input", exc.message, exc.location, exc.field, exc.hint)
    except ValueError as exc:
        return ("value", str(exc))
    except BaseException as exc:
        return ("crash", f"{type(exc).__name__}: {exc}")


def _unpack(data: bytes, what: str) -> Any:
    """A child's pickled outcome: its result, or its error raised here."""
    try:
        result = pickle.loads(data)
    except Exception as exc:
        raise WorkerDied(f"{what} sent a broken result: {exc}") from None
    if result[0] == "ok":
        return result[1]
    if result[0] == "input":
        raise UserInputError(result[1], location=result[2], field=result[3], hint=result[4])
    if result[0] == "value":
        raise ValueError(result[1])
    raise WorkerDied(f"{what} failed: {result[1]}")


def collect(child: Child, what: str) -> Any:
    """The child's result, or its error raised here; `WorkerDied` when it left none."""
    pid, read_fd = child
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data or status != 0:
        raise WorkerDied(f"{what} died without a result (wait status {status})")
    return _unpack(data, what)


def reap(child: Child) -> None:
    """After a failure elsewhere: close the pipe and wait for the child, ignoring its result."""
    pid, read_fd = child
    with contextlib.suppress(OSError):
        os.close(read_fd)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


_SIZE = struct.Struct("<Q")
_F_SETPIPE_SZ = 1031  # Linux: let a child write a whole result before the parent reads it


def ordered_map(work: Callable[[Any], Any], items: Sequence[Any], workers: int, what: str) -> Iterator[Any]:
    """`work(item)` for every item, yielded in item order, computed by `workers` forked children.

    The children are forked once, up front (while the parent is small: forking a grown parent
    per batch cost a 1M-object cache fill 15 s of page-table copying). Child k takes items k,
    k + workers, ... and writes each result to its own pipe, length-prefixed; the parent reads the
    pipes in item order, so results stream in order while each child works one item ahead. An
    error in `work` is raised here as `collect` raises it; a child that dies is `WorkerDied`; if
    the parent stops early (an error, a closed generator) the children are killed.
    """
    children: list[Child] = []
    pipes: list[Any] = []
    try:
        for k in range(workers):
            read_fd, write_fd = os.pipe()
            with contextlib.suppress(OSError, AttributeError):
                import fcntl

                fcntl.fcntl(write_fd, _F_SETPIPE_SZ, 1 << 20)
            pid = os.fork()
            if pid == 0:
                status = 0
                try:
                    os.close(read_fd)
                    for _sibling, other_fd in children:  # earlier siblings' pipes
                        os.close(other_fd)
                    # What the child inherited is never garbage here: frozen, the collector neither
                    # walks it nor copies its pages. Collecting only between items (the work
                    # keeps everything it builds until it returns, so a collection inside finds
                    # nothing and walks it all) saved a 1M-object cache fill ~4 s of CPU.
                    gc.freeze()
                    gc.disable()
                    with os.fdopen(write_fd, "wb") as out:
                        for i in range(k, len(items), workers):
                            result = _outcome(work, items[i])
                            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
                            out.write(_SIZE.pack(len(data)))
                            out.write(data)
                            out.flush()
                            if result[0] != "ok":
                                break
                            del result, data
                            gc.collect()
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            os.close(write_fd)
            children.append((pid, read_fd))
        pipes = [os.fdopen(fd, "rb") for _pid, fd in children]
        for i in range(len(items)):
            pipe = pipes[i % workers]
            head = pipe.read(_SIZE.size)
            data = pipe.read(_SIZE.unpack(head)[0]) if len(head) == _SIZE.size else b""
            if not data:
                pid = children[i % workers][0]
                _, status = os.waitpid(pid, 0)
                children[i % workers] = (0, -1)
                raise WorkerDied(f"{what} died without a result (wait status {status})")
            yield _unpack(data, what)
        for n, (pid, _fd) in enumerate(children):
            _, status = os.waitpid(pid, 0)
            children[n] = (0, -1)
            if status != 0:
                raise WorkerDied(f"{what} ended badly (wait status {status})")
    finally:
        for pipe in pipes:
            pipe.close()
        for n, (pid, fd) in enumerate(children):
            if n >= len(pipes) and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.waitpid(pid, 0)
