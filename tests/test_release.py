"""A release someone can pin: the version written once, a changelog entry for it, a wheel and sdist
that build, and a wheel that works in a clean virtualenv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from dupfix_policy import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_written_once_and_pyproject_reads_it():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = {attr = "dupfix_policy.__version__"}' in pyproject
    assert not re.search(r'^version\s*=\s*"', pyproject, re.MULTILINE)
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?", __version__)


def test_changelog_has_an_entry_for_this_version():
    assert re.search(rf"^## \[{re.escape(__version__)}\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)


def test_readme_pins_this_version_for_pre_commit():
    assert f"rev: v{__version__}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.packaging
def test_wheel_carries_the_version_the_packs_the_schemas_and_every_builtin_plugin(built_distributions):
    with zipfile.ZipFile(built_distributions.wheel) as wheel:
        names = set(wheel.namelist())
        info = f"dupfix_policy-{__version__}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert {f"dupfix_policy/policies/{p}.yaml" for p in ("default", "strict", "idfix")} <= names
    assert {"dupfix_policy/schemas/report.schema.json", "dupfix_policy/py.typed"} <= names
    # Built-ins are imported directly (one source of truth); the group is for third parties.
    assert "[dupfix_policy]" not in entry_points
    assert "dupfix = dupfix_policy.cli:entry" in entry_points
    assert {"dupfix_policy/rules/duplicates.py", "dupfix_policy/reporters/sarif_report.py"} <= names
    packages = {str(p.relative_to(ROOT)) for p in (ROOT / "dupfix_policy").rglob("__init__.py")}
    assert packages <= names, f"pyproject's package list misses {sorted(packages - names)}"
    assert any(n.endswith("licenses/LICENSE") for n in names)


@pytest.mark.packaging
def test_sdist_has_what_a_rebuild_needs(built_distributions):
    with tarfile.open(built_distributions.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE", "policies/default.yaml", "dupfix_policy/cli.py"} <= names


def uv() -> str:
    """uv (test extra) makes the clean virtualenv and installs into it in seconds, where pip takes
    most of a minute for msgraph-sdk's thousands of files; pre-commit's test installs with pip."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is in the test dependency group: pip install -e '.[all]' --group test"
    return found


@pytest.mark.packaging
def test_wheel_installed_in_a_clean_virtualenv_runs_a_check_on_the_examples(built_distributions, tmp_path):
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUPFIX_", "VIRTUAL_ENV", "PYTHON", "UV_"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # this interpreter, never a downloaded one
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120, env=env)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [uv(), "pip", "install", "--quiet", "--python", str(python), str(built_distributions.wheel)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    dupfix = venv / "bin" / "dupfix"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(dupfix), *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)

    version = run("--version")
    assert version.stdout.strip() == f"dupfix-policy {__version__}"
    clean = run("check", "examples/plans/clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    rules = run("check", "examples/plans/rules", "--format", "sarif")
    assert rules.returncode == 1 and '"FMT006"' in rules.stdout and '"DUP001"' in rules.stdout
    # the installed package is the wheel, not this source tree
    where = subprocess.run([str(python), "-c", "import dupfix_policy; print(dupfix_policy.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(venv) in where.stdout
