"""The native plan format: what a plan file means, and the exact line of every mistake in it."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location, Target
from dupfix_policy.plans import native

NATIVE_EXAMPLE = """\
version: 1
changes:
  - op: create                      # create | update | delete | restore
    kind: user
    directory: entra
    ref: new-hire-alice
    set:
      userPrincipalName: alice@contoso.com
      mail: alice@contoso.com
      mailNickname: alice
      proxyAddresses: [SMTP:alice@contoso.com, smtp:a.smith@contoso.com]
  - op: update
    kind: user
    target: {userPrincipalName: bob@contoso.com}
    set: {userPrincipalName: robert@contoso.com}
    add: {proxyAddresses: [smtp:bob@contoso.com]}
    remove: {proxyAddresses: [smtp:bob.old@contoso.com]}
  - op: delete
    kind: group
    target: {id: 5b1e0c7a-0000-4000-8000-000000000001}
    purge: false
"""


def write(tmp_path: Path, text: str | bytes, name: str = "plan.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def plan_with(tmp_path: Path, changes: str) -> str:
    return write(tmp_path, "version: 1\nchanges:\n" + changes)


def error_of(path: str) -> str:
    with pytest.raises(UserInputError) as exc:
        native.load(path, {})
    return str(exc.value)


# --- what a plan means -------------------------------------------------------------------------


def test_design_example_loads_as_three_changes(tmp_path: Path) -> None:
    plan = native.load(write(tmp_path, NATIVE_EXAMPLE), {})
    create, update, delete = plan.changes
    assert plan.format == "native"
    assert (create.op, create.kind, create.directory, create.ref) == (
        "create",
        "user",
        "entra",
        "new-hire-alice",
    )
    assert create.set["proxyAddresses"] == ("SMTP:alice@contoso.com", "smtp:a.smith@contoso.com")
    assert update.target == Target("userPrincipalName", "bob@contoso.com")
    assert update.add == {"proxyAddresses": ("smtp:bob@contoso.com",)}
    assert update.remove == {"proxyAddresses": ("smtp:bob.old@contoso.com",)}
    assert (delete.kind, delete.target, delete.purge) == ("group", Target("id", delete.target.value), False)
    assert [c.index for c in plan.changes] == [0, 1, 2]


def test_change_location_is_the_line_of_its_list_item(tmp_path: Path) -> None:
    path = write(tmp_path, NATIVE_EXAMPLE)
    assert [c.location for c in native.load(path, {}).changes] == [
        Location(path, 3, 5),
        Location(path, 12, 5),
        Location(path, 18, 5),
    ]


def test_each_proxy_address_in_a_block_list_has_its_own_line(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: create\n    kind: user\n    set:\n      proxyAddresses:\n"
        "        - SMTP:alice@contoso.com\n        - smtp:a.smith@contoso.com\n",
    )
    change = native.load(path, {}).changes[0]
    assert change.location_of("proxyAddresses", "SMTP:alice@contoso.com") == Location(path, 7, 11)
    assert change.location_of("proxyAddresses", "smtp:a.smith@contoso.com") == Location(path, 8, 11)


def test_each_proxy_address_in_a_flow_list_has_its_own_column(tmp_path: Path) -> None:
    path = write(tmp_path, NATIVE_EXAMPLE)
    change = native.load(path, {}).changes[0]
    assert change.location_of("proxyAddresses", "smtp:a.smith@contoso.com") == Location(path, 11, 48)


def test_attribute_key_location_is_recorded_under_an_empty_value(tmp_path: Path) -> None:
    path = write(tmp_path, NATIVE_EXAMPLE)
    change = native.load(path, {}).changes[0]
    assert change.value_locations[("mailNickname", "")] == Location(path, 10, 7)
    assert change.location_of("mailNickname", "alice") == Location(path, 10, 21)


def test_added_value_has_its_own_location(tmp_path: Path) -> None:
    path = write(tmp_path, NATIVE_EXAMPLE)
    update = native.load(path, {}).changes[1]
    assert update.location_of("proxyAddresses", "smtp:bob@contoso.com") == Location(path, 16, 28)


def test_single_proxy_address_string_is_a_one_item_list(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: contact\n    set: {proxyAddresses: SMTP:ext@fabrikam.com}\n"
    )
    assert native.load(path, {}).changes[0].set["proxyAddresses"] == ("SMTP:ext@fabrikam.com",)


def test_attribute_names_are_canonicalised_whatever_their_case(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: create\n    kind: user\n    set:\n      USERPRINCIPALNAME: alice@contoso.com\n"
        "      proxyaddresses: [SMTP:alice@contoso.com]\n      mailnickname: alice\n",
    )
    change = native.load(path, {}).changes[0]
    assert set(change.set) == {"userPrincipalName", "proxyAddresses", "mailNickname"}
    assert change.location_of("userPrincipalName", "alice@contoso.com") == Location(path, 6, 26)


def test_target_attribute_name_is_case_insensitive(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: delete\n    kind: user\n    target: {UserPrincipalName: bob@contoso.com}\n"
    )
    assert native.load(path, {}).changes[0].target == Target("userPrincipalName", "bob@contoso.com")


def test_attribute_the_checker_does_not_judge_is_carried(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: user\n    set: {department: Sales, streetAddress: 1 Main St}\n"
    )
    assert native.load(path, {}).changes[0].set == {"department": "Sales", "streetAddress": "1 Main St"}


def test_numbers_are_kept_as_written(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: user\n    set: {employeeId: 007, mailNickname: 12345, x: 1e3}\n"
    )
    assert native.load(path, {}).changes[0].set == {"employeeId": "007", "mailNickname": "12345", "x": "1e3"}


def test_yes_means_true_for_boolean_attributes(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: group\n    set: {mailEnabled: yes, securityEnabled: off}\n"
    )
    assert native.load(path, {}).changes[0].set == {"mailEnabled": True, "securityEnabled": False}


def test_null_clears_an_attribute(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: update\n    kind: user\n    target: {id: u1}\n    set: {mail: null, proxyAddresses: null}\n",
    )
    assert native.load(path, {}).changes[0].set == {"mail": None, "proxyAddresses": ()}


def test_directory_defaults_to_entra_and_can_be_ad(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: create\n    kind: user\n    set: {mail: a@contoso.com}\n"
        "  - op: create\n    kind: user\n    directory: ad\n    set: {mail: b@contoso.com}\n",
    )
    assert [c.directory for c in native.load(path, {}).changes] == ["entra", "ad"]


def test_json_plan_reads_the_same_with_its_own_lines(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(NATIVE_EXAMPLE)
    path = write(tmp_path, json.dumps(data, indent=2), name="plan.json")
    plan = native.load(path, {})
    assert [c.op for c in plan.changes] == ["create", "update", "delete"]
    assert plan.changes[0].location == Location(path, 4, 5)
    assert plan.changes[0].location_of("proxyAddresses", "smtp:a.smith@contoso.com").line == 15


# --- mistakes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, meant",
    [
        ("userPrincipleName", "userPrincipalName"),
        ("proxyaddress", "proxyAddresses"),
        ("mail_nickname", "mailNickname"),
        ("targetAdress", "targetAddress"),
        ("onPremisesImutableId", "onPremisesImmutableId"),
    ],
)
def test_near_miss_of_a_judged_attribute_asks_did_you_mean(tmp_path: Path, written: str, meant: str) -> None:
    path = plan_with(tmp_path, f"  - op: create\n    kind: user\n    set:\n      {written}: x\n")
    message = error_of(path)
    assert f"{path}:6:7" in message
    assert f"did you mean {meant}?" in message


def test_near_miss_in_add_is_caught_too(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: update\n    kind: user\n    target: {id: u1}\n    add: {proxyAdresses: [smtp:x@y]}\n",
    )
    message = error_of(path)
    assert f"{path}:6:11" in message and "did you mean proxyAddresses?" in message


def test_same_attribute_twice_in_different_case_names_both_lines(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: user\n    set:\n      mail: a@x.com\n      Mail: b@x.com\n"
    )
    message = error_of(path)
    assert f"{path}:7:7" in message and "(lines 6 and 7)" in message


def test_unknown_op_lists_the_ops(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: upsert\n    kind: user\n    set: {mail: a@x.com}\n")
    message = error_of(path)
    assert f"{path}:3:9" in message
    assert "changes[0].op: must be one of create, update, delete, restore" in message


def test_unknown_kind_suggests_the_close_one(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: create\n    kind: users\n    set: {mail: a@x.com}\n")
    message = error_of(path)
    assert f"{path}:4:11" in message and "user, group, contact" in message and "did you mean user?" in message


def test_create_with_a_target_is_refused(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: user\n    target: {id: u1}\n    set: {mail: a@x.com}\n"
    )
    message = error_of(path)
    assert f"{path}:5:13" in message and "changes[0].target" in message and "remove `target`" in message


def test_create_without_set_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: create\n    kind: user\n")
    assert f"{path}:3:5" in error_of(path) and "a create needs `set`" in error_of(path)


def test_update_without_a_target_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: update\n    kind: user\n    set: {mail: a@x.com}\n")
    message = error_of(path)
    assert f"{path}:3:5" in message and "needs `target`" in message


def test_update_that_changes_nothing_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: update\n    kind: user\n    target: {id: u1}\n")
    assert f"{path}:3:5" in error_of(path) and "needs `set`, `add` or `remove`" in error_of(path)


def test_delete_that_sets_attributes_is_refused(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: delete\n    kind: user\n    target: {id: u1}\n    set: {mail: a@x.com}\n"
    )
    assert f"{path}:6:10" in error_of(path) and "remove `set`" in error_of(path)


def test_purge_only_applies_to_delete(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: restore\n    kind: user\n    target: {id: u1}\n    purge: true\n")
    assert f"{path}:6:12" in error_of(path) and "only applies to `op: delete`" in error_of(path)


def test_purge_yes_is_not_a_boolean(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: delete\n    kind: user\n    target: {id: u1}\n    purge: yes\n")
    assert f"{path}:6:12" in error_of(path) and "must be true or false" in error_of(path)


def test_target_naming_two_attributes_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: delete\n    kind: user\n    target: {id: u1, mail: a@x.com}\n")
    assert f"{path}:5:13" in error_of(path) and "exactly one" in error_of(path)


def test_target_by_an_attribute_that_cannot_name_an_object_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: delete\n    kind: user\n    target: {userPrincipleName: a@x.com}\n")
    message = error_of(path)
    assert f"{path}:5:14" in message and "did you mean userPrincipalName?" in message


def test_unknown_field_in_a_change_suggests_the_right_one(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: delete\n    kind: user\n    taget: {id: u1}\n")
    message = error_of(path)
    assert f"{path}:5:5" in message and "unknown field `taget`; did you mean target?" in message


def test_single_valued_attribute_given_a_list_is_refused(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: create\n    kind: user\n    set: {userPrincipalName: [a@x.com, b@x.com]}\n"
    )
    assert f"{path}:5:30" in error_of(path) and "takes one value, not a list" in error_of(path)


def test_judged_text_attribute_given_a_boolean_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: create\n    kind: user\n    set: {mailNickname: true}\n")
    assert f"{path}:5:25" in error_of(path) and "quote the value" in error_of(path)


def test_add_on_a_single_valued_attribute_is_refused(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path, "  - op: update\n    kind: user\n    target: {id: u1}\n    add: {mail: [a@x.com]}\n"
    )
    assert f"{path}:6:11" in error_of(path) and "use `set: {mail: ...}`" in error_of(path)


def test_set_and_add_of_one_attribute_are_refused_together(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: update\n    kind: user\n    target: {id: u1}\n"
        "    set: {proxyAddresses: [SMTP:a@x.com]}\n    add: {proxyAddresses: [smtp:b@x.com]}\n",
    )
    assert f"{path}:7:11" in error_of(path) and "both replaced" in error_of(path)


def test_boolean_attribute_with_a_non_boolean_word_is_refused(tmp_path: Path) -> None:
    path = plan_with(tmp_path, "  - op: create\n    kind: group\n    set: {mailEnabled: maybe}\n")
    assert f"{path}:5:24" in error_of(path) and "must be true or false" in error_of(path)


def test_duplicate_refs_name_both_lines(tmp_path: Path) -> None:
    path = plan_with(
        tmp_path,
        "  - op: delete\n    kind: user\n    ref: leaver\n    target: {id: u1}\n"
        "  - op: delete\n    kind: user\n    ref: leaver\n    target: {id: u2}\n",
    )
    message = error_of(path)
    assert f"{path}:9:10" in message and "ref `leaver` is used by two changes (lines 5 and 9)" in message


def test_empty_change_list_says_the_plan_has_no_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nchanges: []\n")
    message = error_of(path)
    assert f"{path}:2:1: the plan has no changes" in message and "list at least one change" in message


@pytest.mark.parametrize("text, line", [("version: 1\n", 1), ("version: 1\nchanges:\n", 2)])
def test_missing_or_null_changes_say_the_plan_has_no_changes(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    assert f"{path}:{line}:1: the plan has no changes" in error_of(path)


def test_misspelt_changes_key_is_named_not_reported_as_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nchnages:\n  - op: create\n")
    assert f"{path}:2:1" in error_of(path) and "did you mean changes?" in error_of(path)


def test_wrong_version_is_refused_even_without_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 2\nchanges: []\n")
    message = error_of(path)
    assert f"{path}:1:10" in message and "version 1" in message


def test_missing_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "changes:\n  - op: delete\n    kind: user\n    target: {id: u1}\n")
    assert f"{path}:1:1" in error_of(path) and "missing `version`" in error_of(path)


def test_error_deep_in_a_large_plan_points_at_the_bad_change(tmp_path: Path) -> None:
    good = "  - op: create\n    kind: user\n    set: {userPrincipalName: u@x.com, mail: u@x.com}\n"
    bad = "  - op: create\n    kind: user\n    set: {userPrincipalName: {oops: 1}}\n"
    path = plan_with(tmp_path, good * 500 + bad + good * 10)
    message = error_of(path)
    assert f"{path}:{3 + 500 * 3 + 2}:30" in message and "changes[500].set.userPrincipalName" in message


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, head",
    [
        ("plan.yaml", b"# new hires\nversion: 1\nchanges:\n"),
        ("plan.yml", b'version: 1\n"changes":\n'),
        ("plan.json", b'{"version": 1, "changes": ['),
        ("plan.json", b'{\n  "changes": [\n'),
        ("plan.yaml", codecs.BOM_UTF16_LE + "version: 1\nchanges:\n".encode("utf-16-le")),
    ],
)
def test_detect_claims_native_plans(name: str, head: bytes) -> None:
    assert native.detect(name, head)


@pytest.mark.parametrize(
    "name, head",
    [
        ("tenant.json", b'{"version": 1, "tenant": {}, "objects": ['),
        (".dupfix.yaml", b"sources: [graph]\nchanges: []\n"),
        ("strict.yaml", b"version: 1\nextends: default\nrules:\n  DUP011: error\n"),
        ("plan.csv", b"changes,version\n"),
        ("tfplan.json", b'{"format_version": "1.2", "resource_changes": ['),
        ("notes.yaml", b"title: x\nitems:\n  changes: 3\n"),
    ],
)
def test_detect_leaves_other_files_alone(name: str, head: bytes) -> None:
    assert not native.detect(name, head)


def test_plugin_hook_offers_the_native_format() -> None:
    from dupfix_policy import plans

    formats = {f.name: f for f in plans.dupfix_plan_formats()}
    assert formats["native"].file_patterns == ("*.yaml", "*.yml", "*.json")
