"""Paths as code hosts want them: relative to the repository root, with forward slashes.

A check may run from a subdirectory, but GitHub code scanning and annotations resolve a path
against the repository root (`GITHUB_WORKSPACE` in Actions), so SARIF and workflow commands must
say `identity/plans/new.yaml`, not `plans/new.yaml` or an absolute path.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath


def repo_root(cwd: str | None = None) -> str:
    """`GITHUB_WORKSPACE` when the working directory is inside it, else the nearest `.git` above."""
    here = os.path.realpath(cwd or os.getcwd())
    workspace = os.environ.get("GITHUB_WORKSPACE") or os.environ.get("CI_PROJECT_DIR")
    if workspace:
        root = os.path.realpath(workspace)
        if here == root or here.startswith(root + os.sep):
            return root
    probe = here
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


def repo_relative(path: str, root: str | None = None) -> str:
    """`path` (as the report has it, relative to the working directory) relative to the repo root."""
    base = root or repo_root()
    absolute = os.path.realpath(path)
    inside = absolute == base or absolute.startswith(base + os.sep)
    rel = os.path.relpath(absolute, base) if inside else path
    return PurePosixPath(*rel.split(os.sep)).as_posix() if os.sep != "/" else rel
