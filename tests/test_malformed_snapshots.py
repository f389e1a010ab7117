"""A malformed snapshot is exit 2, also where the byte prefilter would never parse the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli

HEADER = {"version": 1, "tenant": {"initialDomain": "contoso.onmicrosoft.com"}, "directories": ["entra"]}
PLAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com}}\n"
FAR_AWAY = '{"id":"far","kind":"user","directory":"entra","userPrincipalName":"zed@fabrikam.com"}'


def _user(ident: str, upn: str) -> str:
    return json.dumps({"id": ident, "kind": "user", "directory": "entra", "userPrincipalName": upn})


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    return tmp_path


def _snapshot(directory: Path, *lines: str) -> Path:
    path = directory / "tenant.jsonl"
    body = [json.dumps({**HEADER, "endRecord": True}), *lines, json.dumps({"end": {"objects": len(lines)}})]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def _check(path: Path) -> int:
    return cli.main(["check", "plan.yaml", "--source", f"snapshot:{path}", "--format", "json"])


def test_raw_control_character_in_a_line_the_plan_never_touches_is_exit_2(workdir, capsys) -> None:
    path = _snapshot(workdir, _user("a", "bob@contoso.com"), FAR_AWAY.replace("zed", "z\x01ed"))
    assert _check(path) == 2
    assert "raw control character 0x01" in capsys.readouterr().err


def test_duplicate_key_that_could_hide_a_held_upn_is_exit_2(workdir, capsys) -> None:
    line = '{"id":"a","kind":"user","directory":"entra","userPrincipalName":"alice@contoso.com","userPrincipalName":"x@y.com"}'
    assert _check(_snapshot(workdir, line)) == 2
    assert "appears twice in one object" in capsys.readouterr().err


def test_duplicate_object_id_among_the_holders_is_exit_2(workdir, capsys) -> None:
    path = _snapshot(workdir, _user("a", "alice@contoso.com"), _user("a", "ALICE@contoso.com"))
    assert _check(path) == 2
    assert "appears twice" in capsys.readouterr().err


def test_duplicate_object_id_anywhere_is_exit_2_for_a_full_read(workdir, capsys) -> None:
    path = _snapshot(workdir, _user("a", "bob@contoso.com"), FAR_AWAY, FAR_AWAY)
    assert cli.main(["snapshot", "--source", f"snapshot:{path}", "--output", str(workdir / "copy.jsonl")]) == 2
    assert "object far (entra) appears twice" in capsys.readouterr().err


def test_duplicate_object_id_in_a_json_document_is_exit_2(workdir, capsys) -> None:
    path = workdir / "tenant.json"
    record = json.loads(_user("a", "bob@contoso.com"))
    path.write_text(json.dumps({**HEADER, "objects": [record, record]}), encoding="utf-8")
    assert _check(path) == 2
    assert "appears twice" in capsys.readouterr().err


def test_integer_over_the_digit_limit_is_exit_2(workdir, capsys) -> None:
    line = _user("a", "alice@contoso.com")[:-1] + ', "extensionAttribute1": ' + "9" * 5000 + "}"
    assert _check(_snapshot(workdir, line)) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_lone_surrogate_in_a_parsed_line_is_exit_2(workdir, capsys) -> None:
    line = _user("a", "alice@contoso.com")[:-1] + ', "displayName": "\\ud800"}'
    assert _check(_snapshot(workdir, line)) == 2
    assert "lone UTF-16 surrogate" in capsys.readouterr().err


def test_lone_surrogate_in_a_line_the_plan_never_touches_is_exit_2(workdir, capsys) -> None:
    path = _snapshot(workdir, _user("a", "bob@contoso.com"), FAR_AWAY.replace("zed", "z\\udc00ed"))
    assert _check(path) == 2
    assert "lone UTF-16 surrogate" in capsys.readouterr().err
