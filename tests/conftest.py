"""Shared builders: tests state the domain case in literal data and read like specifications."""

from __future__ import annotations

import os
import sys

import pytest

# Installed third-party plugins must never leak into the suite.
os.environ.setdefault("DUPFIX_DISABLE_PLUGIN_AUTOLOAD", "1")
os.environ.pop("GITHUB_ACTIONS", None)
sys._called_from_test = True  # type: ignore[attr-defined]

from dupfix_policy.plugins import load_registry  # noqa: E402


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def built_distributions(tmp_path_factory):
    """This tree's sdist and wheel, built once per session the way a release is (`python -m build`:
    the sdist, then the wheel from the sdist), for the release and pre-commit tests."""
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(root)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return SimpleNamespace(dir=out, wheel=next(out.glob("*.whl")), sdist=next(out.glob("*.tar.gz")))
