"""`.dupfix.yaml`, DUPFIX_* variables and flags: which wins, and where each value came from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dupfix_policy.config import DEFAULT_GRAPH_URL, find_config, resolve_settings, split_specs
from dupfix_policy.errors import UserInputError

NO_FLAGS: dict[str, object] = {}
NO_ENV: dict[str, str] = {}


def write_config(directory: Path, text: str, name: str = ".dupfix.yaml") -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def error_of(flags: dict[str, object], env: dict[str, str], cwd: Path) -> str:
    with pytest.raises(UserInputError) as exc:
        resolve_settings(flags, env, str(cwd))
    return str(exc.value)


# --- discovery ---------------------------------------------------------------------------------


def test_config_is_found_by_walking_up_from_the_working_directory(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources: [none]\n")
    deep = tmp_path / "plans" / "2026" / "q4"
    deep.mkdir(parents=True)
    assert find_config(str(deep)) == path


def test_nearest_config_wins_over_one_further_up(tmp_path: Path) -> None:
    write_config(tmp_path, "sources: [none]\n")
    nearer = write_config(tmp_path / "team", "sources: [graph]\n")
    assert find_config(str(tmp_path / "team")) == nearer


def test_no_config_anywhere_gives_the_defaults(tmp_path: Path) -> None:
    settings = resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path))
    if settings.config_path is not None:  # a stray .dupfix.yaml above the temp dir
        pytest.skip(f"found {settings.config_path} above the temporary directory")
    assert (settings.sources, settings.policy, settings.fail_on, settings.graph_url) == (
        (),
        None,
        "error",
        DEFAULT_GRAPH_URL,
    )
    assert settings.origin_of("sources") == "default"


# --- the file ----------------------------------------------------------------------------------


def test_config_values_are_read_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "sources:\n  - snapshot:examples/tenant.json\n  - graph\n  - ldaps://dc1:636/DC=contoso,DC=com\n"
        "policy: policies/team.yaml\nfailOn: warning\ncache: .dupfix/cache\n"
        "formats: [text, json=out/report.json]\n",
    )
    (tmp_path / "sub").mkdir()
    settings = resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path / "sub"))
    assert settings.sources == (
        f"snapshot:{tmp_path / 'examples' / 'tenant.json'}",
        "graph",
        "ldaps://dc1:636/DC=contoso,DC=com",
    )
    assert settings.policy == str(tmp_path / "policies" / "team.yaml")
    assert settings.cache == str(tmp_path / ".dupfix" / "cache")
    assert settings.formats == ("text", f"json={tmp_path / 'out' / 'report.json'}")
    assert settings.fail_on == "warning"


def test_policy_pack_name_in_the_config_is_not_a_path(tmp_path: Path) -> None:
    write_config(tmp_path, "policy: strict\n")
    assert resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path)).policy == "strict"


def test_origin_and_location_of_a_config_value_are_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "# demo\nsources: [none]\npolicy: strict\n")
    settings = resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path))
    assert settings.origin_of("sources") == f"{path}:2"
    assert settings.location_of("policy") is not None and settings.location_of("policy").line == 3


def test_column_mappings_are_kept_per_format(tmp_path: Path) -> None:
    write_config(tmp_path, "columnMappings:\n  entra-csv:\n    'User name': userPrincipalName\n")
    settings = resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path))
    assert settings.column_mappings == {"entra-csv": {"User name": "userPrincipalName"}}


def test_empty_config_file_is_valid(tmp_path: Path) -> None:
    path = write_config(tmp_path, "# nothing configured yet\n")
    settings = resolve_settings(NO_FLAGS, NO_ENV, str(tmp_path))
    assert settings.config_path == path and settings.sources == ()


def test_broken_config_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  - graph\n policy: strict\n")
    message = error_of(NO_FLAGS, NO_ENV, tmp_path)
    assert f"{path}:3:" in message and "invalid YAML" in message


def test_unknown_config_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources: [graph]\nfail_on: warning\n")
    message = error_of(NO_FLAGS, NO_ENV, tmp_path)
    assert f"{path}:2:1" in message and "did you mean failOn?" in message


def test_bad_fail_on_in_the_config_names_the_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "failOn: errors\n")
    message = error_of(NO_FLAGS, NO_ENV, tmp_path)
    assert f"{path}:1:9" in message and "error, warning, never" in message


def test_sources_must_be_a_list_in_the_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources: graph\n")
    message = error_of(NO_FLAGS, NO_ENV, tmp_path)
    assert f"{path}:1:10" in message and "must be a list" in message


# --- environment and flags ---------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, "sources: [graph]\npolicy: default\nfailOn: error\n")
    env = {
        "DUPFIX_SOURCES": "snapshot:ci/tenant.json",
        "DUPFIX_POLICY": "strict",
        "DUPFIX_FAIL_ON": "warning",
    }
    settings = resolve_settings(NO_FLAGS, env, str(tmp_path))
    assert (settings.sources, settings.policy, settings.fail_on) == (
        ("snapshot:ci/tenant.json",),
        "strict",
        "warning",
    )
    assert settings.origin_of("sources") == "DUPFIX_SOURCES"
    assert settings.location_of("sources") is None


def test_flags_override_environment_and_file(tmp_path: Path) -> None:
    write_config(tmp_path, "sources: [graph]\ngraphUrl: http://file.example/v1.0\n")
    env = {"DUPFIX_SOURCES": "none", "DUPFIX_GRAPH_URL": "http://env.example/v1.0"}
    flags = {"sources": ["snapshot:t.json"], "graph_url": "http://flag.example/v1.0", "fail_on": "never"}
    settings = resolve_settings(flags, env, str(tmp_path))
    assert (settings.sources, settings.graph_url, settings.fail_on) == (
        ("snapshot:t.json",),
        "http://flag.example/v1.0",
        "never",
    )
    assert settings.origin_of("sources") == "--source"


def test_empty_environment_variable_is_ignored(tmp_path: Path) -> None:
    write_config(tmp_path, "sources: [graph]\n")
    assert resolve_settings(NO_FLAGS, {"DUPFIX_SOURCES": ""}, str(tmp_path)).sources == ("graph",)


def test_dupfix_config_names_the_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path / "ci", "sources: [none]\n", name="dupfix-ci.yaml")
    settings = resolve_settings(NO_FLAGS, {"DUPFIX_CONFIG": "ci/dupfix-ci.yaml"}, str(tmp_path))
    assert (settings.config_path, settings.sources) == (path, ("none",))


def test_config_flag_wins_over_dupfix_config(tmp_path: Path) -> None:
    write_config(tmp_path, "sources: [none]\n", name="a.yaml")
    path = write_config(tmp_path, "sources: [graph]\n", name="b.yaml")
    settings = resolve_settings({"config": "b.yaml"}, {"DUPFIX_CONFIG": "a.yaml"}, str(tmp_path))
    assert settings.config_path == path


def test_named_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    message = error_of({"config": "missing.yaml"}, NO_ENV, tmp_path)
    assert "missing.yaml" in message and "--config" in message


def test_bad_fail_on_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    message = error_of(NO_FLAGS, {"DUPFIX_FAIL_ON": "always"}, tmp_path)
    assert "DUPFIX_FAIL_ON must be one of error, warning, never" in message


def test_sources_variable_splits_on_commas_but_keeps_an_ldap_base_dn() -> None:
    assert split_specs("ldap://dc1:389/DC=contoso,DC=com, graph,snapshot:t.json") == (
        "ldap://dc1:389/DC=contoso,DC=com",
        "graph",
        "snapshot:t.json",
    )


def test_flag_paths_are_left_relative_to_the_working_directory(tmp_path: Path) -> None:
    write_config(tmp_path / "repo", "sources: [graph]\n")
    settings = resolve_settings({"sources": ["snapshot:t.json"]}, NO_ENV, str(tmp_path / "repo"))
    assert settings.sources == ("snapshot:t.json",)
    assert settings.base_dir == str(tmp_path / "repo")
    assert not os.path.isabs(settings.sources[0].partition(":")[2])
