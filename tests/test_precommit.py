"""The pre-commit hook as users get it: `.pre-commit-hooks.yaml` run by the real pre-commit.

`pre-commit try-repo` installs the hook into its own virtualenv (with pip, as for users) from a
hook repository holding this repository's `.pre-commit-hooks.yaml` and a stub that depends on the
wheel built for this session, so nothing is fetched but dupfix-policy's dependencies from PyPI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
TIME_LIMIT_S = 600  # first run: a virtualenv and dupfix-policy's dependencies

DUPLICATE = """\
version: 1
changes:
  - op: create
    kind: user
    ref: second-alice
    set: {userPrincipalName: alice@contoso.com, mailNickname: alice.second}
"""

CLEAN = """\
version: 1
changes:
  - op: create
    kind: user
    ref: quinn
    set: {userPrincipalName: quinn.north@contoso.com, mailNickname: quinn.north}
"""


def test_hook_runs_dupfix_check_in_hook_mode_once_per_commit():
    hook = next(h for h in HOOKS if h["id"] == "dupfix-check")
    assert (hook["id"], hook["entry"], hook["language"]) == ("dupfix-check", "dupfix check --hook", "python")
    assert hook["require_serial"] is True


def test_the_fixing_hook_writes_free_values_on_the_same_files_once_per_commit():
    check, fix = (next(h for h in HOOKS if h["id"] == name) for name in ("dupfix-check", "dupfix-fix"))
    assert (fix["entry"], fix["language"], fix["require_serial"]) == ("dupfix fix --hook --write", "python", True)
    assert fix["files"] == check["files"]


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("identity/new-hires.yaml", True),
        ("identity/new-hires.YML", True),
        ("tfplan.json", True),
        ("imports/entra-bulk.csv", True),
        ("exports/ldifde.ldif", True),
        ("exports/ldifde.LDF", True),
        ("README.md", False),
        ("notes.txt", False),
        ("main.tf", False),
    ],
)
def test_hook_runs_on_every_plan_format(name, matched):
    assert bool(re.search(HOOKS[0]["files"], name)) is matched


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=dupfix tests", "-c", "user.email=tests@dupfix.invalid", "-c", "init.defaultBranch=main",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True,
    )


def hook_repository(where: Path, wheel: Path) -> Path:
    """A hook repo: our .pre-commit-hooks.yaml, and a package whose only job is to pull in the wheel."""
    where.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", where / ".pre-commit-hooks.yaml")
    (where / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "dupfix-hook-under-test"\nversion = "0"\n'
        f'dependencies = ["dupfix-policy @ {wheel.resolve().as_uri()}"]\n\n'
        "[tool.setuptools]\npackages = []\n",
        encoding="utf-8",
    )
    git(where, "init", "-q")
    git(where, "add", ".")
    git(where, "commit", "-q", "-m", "hook under test")
    return where


def identity_repository(where: Path) -> Path:
    """A repository of identity plans, as a team would keep it, with the demo tenant as its state."""
    (where / "identity").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "tenant.json", where / "tenant.json")
    (where / ".dupfix.yaml").write_text("sources: [snapshot:tenant.json]\n", encoding="utf-8")
    (where / "identity" / "new-hires.yaml").write_text(DUPLICATE, encoding="utf-8")
    (where / "identity" / "transfers.yaml").write_text(CLEAN, encoding="utf-8")
    (where / "README.md").write_text("# identity plans\n", encoding="utf-8")
    git(where, "init", "-q")
    git(where, "add", ".")
    return where


@pytest.mark.packaging
def test_pre_commit_try_repo_rejects_a_staged_duplicate_checking_all_plan_files_in_one_run(built_distributions, tmp_path):
    """One run (each try-repo installs the hook afresh): two plans staged, one with a duplicate."""
    hooks = hook_repository(tmp_path / "hook", built_distributions.wheel)
    plans = identity_repository(tmp_path / "plans")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DUPFIX_", "VIRTUAL_ENV", "PRE_COMMIT"))}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PRE_COMMIT_COLOR="never", NO_COLOR="1")
    # pip byte-compiles msgraph-sdk's ~17,000 modules at install unless told not to: two thirds of the
    # install time, and nothing the hook needs (Python compiles what it imports, when it imports it).
    env["PIP_COMPILE"] = "0"
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "dupfix-check", "--all-files"],
        cwd=plans, env=env, capture_output=True, text=True, timeout=TIME_LIMIT_S,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert re.search(r"dupfix-policy.*Failed", out), out
    assert "identity/new-hires.yaml:3:5  create user second-alice" in out, out
    assert "DUP001" in out and "held by: user alice@contoso.com" in out, out
    assert "2 changes checked" in out, out  # both staged plans, in one serial run
    assert "skipped tenant.json" in out, out  # matched by the pattern, recognised by no plan format
    assert "README.md" not in out, out  # not matched by the pattern at all


@pytest.mark.packaging
def test_pre_commit_try_repo_fixing_hook_rewrites_the_staged_duplicate_and_fails_so_it_is_restaged(
    built_distributions, tmp_path
):
    hooks = hook_repository(tmp_path / "hook", built_distributions.wheel)
    plans = identity_repository(tmp_path / "plans")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DUPFIX_", "VIRTUAL_ENV", "PRE_COMMIT"))}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PRE_COMMIT_COLOR="never", NO_COLOR="1", PIP_COMPILE="0")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "dupfix-fix", "--all-files"],
        cwd=plans, env=env, capture_output=True, text=True, timeout=TIME_LIMIT_S,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "files were modified by this hook" in out, out
    # alice@contoso.com is Alice Smith's: the staged plan now creates alice2@, the clean plan is untouched.
    assert (plans / "identity" / "new-hires.yaml").read_text(encoding="utf-8") == DUPLICATE.replace(
        "alice@contoso.com", "alice2@contoso.com"
    )
    assert (plans / "identity" / "transfers.yaml").read_text(encoding="utf-8") == CLEAN
