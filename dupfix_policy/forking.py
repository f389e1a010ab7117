"""Work in a forked child, one way: the result comes back through a pipe, a death is noticed.

The snapshot scan (`sources/snapshot/source.py`) and the cache fill (`sources/cache/sync.py`)
split CPU-bound work over forked children, and the audit (`audit/collect.py`) counts keys in one.
A child that dies (killed, out of memory) must never look like "no result": every parent here
reads the pipe, checks the wait status and raises `WorkerDied`, which the CLI reports as exit 4,
never a pass. A `UserInputError` or `ValueError` the work raises is raised again in the parent.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections.abc import Callable
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
            try:
                result: tuple[Any, ...] = ("ok", work(*args))
            except UserInputError as exc:
                result = ("input", exc.message, exc.location, exc.field, exc.hint)
            except ValueError as exc:
                result = ("value", str(exc))
            except BaseException as exc:
                result = ("crash", f"{type(exc).__name__}: {exc}")
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def collect(child: Child, what: str) -> Any:
    """The child's result, or its error raised here; `WorkerDied` when it left none."""
    pid, read_fd = child
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data or status != 0:
        raise WorkerDied(f"{what} died without a result (wait status {status})")
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


def reap(child: Child) -> None:
    """After a failure elsewhere: close the pipe and wait for the child, ignoring its result."""
    pid, read_fd = child
    with contextlib.suppress(OSError):
        os.close(read_fd)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
