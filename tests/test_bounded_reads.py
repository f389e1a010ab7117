"""Every file dupfix reads is a regular file of bounded size: never a device, a FIFO or 10 GB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dupfix_policy import cli, documents

PLAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: quinn@contoso.com}}\n"
TENANT = Path(__file__).resolve().parents[1] / "examples" / "tenant.json"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    return tmp_path


@pytest.fixture
def fifo(workdir) -> Path:
    path = workdir / "pipe.yaml"
    os.mkfifo(path)  # nobody writes to it: a read would block forever
    return path


def _check(*args: str) -> int:
    return cli.main(["check", "plan.yaml", "--source", "none", "--format", "json", *args])


def test_policy_from_a_fifo_is_exit_2(fifo, capsys) -> None:
    assert _check("--policy", str(fifo)) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_config_from_a_fifo_is_exit_2(fifo, capsys) -> None:
    assert _check("--config", str(fifo)) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_baseline_from_a_device_is_exit_2(workdir, capsys) -> None:
    assert _check("--baseline", "/dev/zero") == 2
    assert "not a regular file" in capsys.readouterr().err


def test_snapshot_from_a_fifo_is_exit_2(fifo, capsys) -> None:
    assert cli.main(["check", "plan.yaml", "--source", f"snapshot:{fifo}"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_plan_named_as_a_fifo_is_exit_2(fifo, capsys) -> None:
    assert cli.main(["check", str(fifo), "--source", "none"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_fifo_inside_a_plan_directory_is_skipped_with_a_note(workdir, fifo, capsys) -> None:
    assert cli.main(["check", ".", "--source", "none", "--format", "json"]) == 0
    assert "not a regular file" in capsys.readouterr().out


def test_config_larger_than_its_cap_is_exit_2_naming_the_cap(workdir, capsys, monkeypatch) -> None:
    monkeypatch.setitem(documents.LIMITS, "config", 1024)
    (workdir / "big.yaml").write_text("sources: [none]\n" + "# padding\n" * 200, encoding="utf-8")
    assert _check("--config", "big.yaml") == 2
    assert "larger than" in capsys.readouterr().err


def test_policy_larger_than_its_cap_is_exit_2(workdir, capsys, monkeypatch) -> None:
    monkeypatch.setitem(documents.LIMITS, "policy", 1024)
    (workdir / "big-policy.yaml").write_text("extends: default\n" + "# padding\n" * 200, encoding="utf-8")
    assert _check("--policy", "big-policy.yaml") == 2
    assert "larger than" in capsys.readouterr().err


def test_json_snapshot_larger_than_its_cap_is_exit_2_suggesting_json_lines(workdir, capsys, monkeypatch) -> None:
    from dupfix_policy.sources.snapshot import source as snapshot

    monkeypatch.setattr(snapshot, "MAX_DOCUMENT_BYTES", 1024)
    assert cli.main(["check", "plan.yaml", "--source", f"snapshot:{TENANT}"]) == 2
    assert "JSON Lines" in capsys.readouterr().err
