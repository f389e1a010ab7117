"""Reading YAML/JSON with positions: every unreadable file is one message naming file, line and fix."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from dupfix_policy.documents import field_path, load_document, parse_document, validate
from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def error_of(path: str, **kwargs: object) -> str:
    with pytest.raises(UserInputError) as exc:
        load_document(path, kind="plan", **kwargs)  # type: ignore[arg-type]
    return str(exc.value)


# --- positions ---------------------------------------------------------------------------------


def test_yaml_value_positions_are_line_and_column_of_the_value(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "version: 1\nchanges:\n  - op: create\n    set:\n      mail: a@contoso.com\n"
    )
    doc = load_document(path, kind="plan")
    assert doc.position(("changes", 0, "set", "mail")) == Location(path, 5, 13)
    assert doc.position(("changes", 0)) == Location(path, 3, 5)


def test_key_position_points_at_the_key_not_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nset:\n  mail:\n    a@contoso.com\n")
    doc = load_document(path, kind="plan")
    assert doc.key_position(("set", "mail")) == Location(path, 3, 3)
    assert doc.position(("set", "mail")) == Location(path, 4, 5)


def test_each_item_of_a_flow_list_has_its_own_column(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "proxyAddresses: [SMTP:a@contoso.com, smtp:b@contoso.com]\n")
    doc = load_document(path, kind="plan")
    assert doc.position(("proxyAddresses", 1)) == Location(path, 1, 38)


def test_position_of_a_missing_pointer_falls_back_to_the_nearest_ancestor(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nchanges:\n  - op: create\n")
    doc = load_document(path, kind="plan")
    assert doc.position(("changes", 0, "set", "mail")) == Location(path, 3, 5)


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "a: [Zoë, x]\n")
    assert load_document(path, kind="plan").position(("a", 1)) == Location(path, 1, 10)


# --- YAML scalars: YAML 1.2 core schema --------------------------------------------------------


def test_yaml_yes_no_on_off_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "a: yes\nb: no\nc: on\nd: off\ne: Y\n")
    assert load_document(path, kind="plan").data == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": "Y"}


def test_yaml_dates_sexagesimals_and_leading_zeros_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "expires: 2026-12-31\ntime: 1:20\nid: 0755\nhex: 0x1F\ninf: .inf\n")
    data = load_document(path, kind="plan").data
    assert data == {"expires": "2026-12-31", "time": "1:20", "id": "0755", "hex": "0x1F", "inf": ".inf"}


def test_yaml_true_false_null_and_plain_numbers_are_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "a: true\nb: False\nc: null\nd: ~\ne:\nf: 12\ng: -1.5\nh: 1e3\ni: 'true'\n"
    )
    data = load_document(path, kind="plan").data
    assert data == {
        "a": True,
        "b": False,
        "c": None,
        "d": None,
        "e": None,
        "f": 12,
        "g": -1.5,
        "h": 1000.0,
        "i": "true",
    }


def test_source_text_keeps_a_number_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "employeeId: 1e3\n")
    assert load_document(path, kind="plan").source_text(("employeeId",)) == "1e3"


def test_yaml_anchors_and_aliases_are_expanded(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "common: &c [smtp:a@contoso.com]\nother: *c\n")
    assert load_document(path, kind="plan").data["other"] == ["smtp:a@contoso.com"]


def test_yaml_merge_key_lets_explicit_keys_win(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "base: &b {kind: user, directory: ad}\nchange:\n  <<: *b\n  directory: entra\n"
    )
    doc = load_document(path, kind="plan")
    assert doc.data["change"] == {"directory": "entra", "kind": "user"}
    assert doc.position(("change", "kind")) == Location(path, 1, 17)


def test_yaml_alias_loop_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "p.yaml", "a: &a [*a]\n"))
    assert "p.yaml:1:" in message and "alias" in message


def test_yaml_custom_tag_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "p.yaml", "version: 1\nname: !Ref other\n"))
    assert "p.yaml:2:7" in message and "!Ref" in message


# --- unreadable YAML ---------------------------------------------------------------------------


def test_yaml_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nset:\n  mail: a@contoso.com\n  mail: b@contoso.com\n")
    message = error_of(path)
    assert f"{path}:4:3" in message
    assert "duplicate key `mail` (lines 3 and 4)" in message


def test_yaml_duplicate_key_inside_a_list_item_is_found(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "changes:\n  - op: create\n    op: update\n")
    assert f"{path}:3:5" in error_of(path)


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nchanges:\n  - op: create\n   kind: user\n")
    message = error_of(path)
    assert f"{path}:4:" in message and "invalid YAML" in message


def test_yaml_tab_indentation_says_to_use_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nchanges:\n\t- op: create\n")
    message = error_of(path)
    assert f"{path}:3:" in message and "spaces, not tabs" in message


def test_yaml_second_document_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\n---\nversion: 1\n")
    message = error_of(path)
    assert f"{path}:2:" in message and "more than one YAML document" in message


def test_yaml_nesting_too_deep_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "p.yaml" in error_of(path)


# --- files and encodings -----------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    message = error_of(path)
    assert path in message and "not found" in message


def test_directory_is_not_a_plan_file(tmp_path: Path) -> None:
    assert "is a directory" in error_of(str(tmp_path))


def test_undecodable_bytes_name_the_line_and_ask_for_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", b"version: 1\ndisplayName: Ren\xe9e\n")
    message = error_of(path)
    assert f"{path}:2:17" in message and "UTF-8" in message


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", codecs.BOM_UTF8 + b"version: 1\n")
    assert load_document(path, kind="plan").data == {"version": 1}


@pytest.mark.parametrize(
    "bom, encoding", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
)
def test_utf16_with_bom_is_read(tmp_path: Path, bom: bytes, encoding: str) -> None:
    path = write(tmp_path, "p.yaml", bom + "version: 1\ndisplayName: Zoë\n".encode(encoding))
    assert load_document(path, kind="plan").data == {"version": 1, "displayName": "Zoë"}


def test_utf16_without_bom_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\n".encode("utf-16-le"))
    message = error_of(path)
    assert f"{path}:1:" in message and "UTF-16 without a byte-order mark" in message


def test_utf32_is_refused_with_a_request_for_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", codecs.BOM_UTF32_LE + "version: 1\n".encode("utf-32-le"))
    message = error_of(path)
    assert f"{path}:1:1" in message and "UTF-8" in message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "# only a comment\n")
    assert f"{path}:1:1: the plan file is empty" in error_of(path)


def test_empty_file_is_an_empty_mapping_when_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, ".dupfix.yaml", "")
    assert load_document(path, kind="config", allow_empty=True).data == {}


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "- op: create\n")
    message = error_of(path)
    assert f"{path}:1:1" in message and "must be a mapping" in message and "not a list" in message


def test_top_level_scalar_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '"just text"')
    assert "must be a mapping" in error_of(path)


# --- JSON --------------------------------------------------------------------------------------


def test_json_value_and_key_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.json",
        '{\n  "changes": [\n    {"op": "create",\n     "set": {"mail": "a@contoso.com"}}\n  ]\n}',
    )
    doc = load_document(path, kind="plan")
    assert doc.position(("changes", 0)) == Location(path, 3, 5)
    assert doc.position(("changes", 0, "set", "mail")) == Location(path, 4, 22)
    assert doc.key_position(("changes", 0, "set")) == Location(path, 4, 6)


def test_json_accepts_what_yaml_1_1_would_break(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.json", '{\n\t"a": "x\\/y",\n\t"b": "\\ud83d\\ude00",\n\t"c": [1.5, 1e3, true, null]\n}'
    )
    assert load_document(path, kind="plan").data == {"a": "x/y", "b": "😀", "c": [1.5, 1000.0, True, None]}


def test_json_long_single_line_with_long_keys_is_read(tmp_path: Path) -> None:
    key = "k" * 2000
    path = write(tmp_path, "p.json", '{"' + key + '": "' + "v" * 100_000 + '"}')
    assert len(load_document(path, kind="plan").data[key]) == 100_000


def test_json_trailing_comma_names_line_and_says_remove_it(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"version": 1,\n "changes": [1,]\n}')
    message = error_of(path)
    assert f"{path}:2:16" in message and "invalid JSON" in message and "trailing comma" in message


def test_json_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"version": 1,\n "version": 2}')
    message = error_of(path)
    assert f"{path}:2:2" in message and "duplicate key `version` (lines 1 and 2)" in message


def test_json_single_quotes_are_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", "{\"a\": 'x'}")
    assert f"{path}:1:7" in error_of(path) and "double quotes" in error_of(path)


def test_json_nan_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"a": NaN}')
    assert f"{path}:1:7" in error_of(path) and "NaN" in error_of(path)


def test_json_unterminated_string_names_where_it_starts(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"version": 1,\n "name": "abc\n}')
    message = error_of(path)
    assert f"{path}:2:" in message and "invalid JSON" in message


def test_json_extra_data_after_the_document_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"a": 1}\n{"b": 2}')
    assert f"{path}:2:1" in error_of(path) and "Extra data" in error_of(path)


def test_json_nesting_too_deep_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested too deeply" in error_of(path)


# --- schema validation -------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["changes"],
    "properties": {
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["op"],
                "properties": {
                    "op": {"enum": ["create", "update", "delete", "restore"]},
                    "purge": {"type": "boolean"},
                },
            },
        },
        "custom": {"const": 1, "errorMessage": "must be 1, as the docs say"},
    },
}


def validation_error(text: str) -> str:
    doc = parse_document(text, "plan.yaml", kind="plan")
    with pytest.raises(UserInputError) as exc:
        validate(doc, SCHEMA)
    return str(exc.value)


def test_enum_violation_names_line_field_path_and_choices() -> None:
    message = validation_error("changes:\n  - op: create\n  - op: create\n  - op: upsert\n")
    assert message.startswith("plan.yaml:4:9: changes[2].op: must be one of create, update, delete, restore")
    assert '(found "upsert")' in message


def test_type_violation_says_what_is_expected_in_words() -> None:
    message = validation_error("changes:\n  - op: delete\n    purge: yes\n")
    assert 'plan.yaml:3:12: changes[0].purge: must be true or false (found "yes")' in message


def test_unknown_field_suggests_the_close_one_at_its_key() -> None:
    message = validation_error("changes:\n  - op: delete\n    prge: true\n")
    assert "plan.yaml:3:5: changes[0].prge: unknown field `prge`; did you mean purge?" in message


def test_unknown_field_is_named_before_the_missing_field_it_causes() -> None:
    message = validation_error("changes:\n  - opp: delete\n")
    assert "unknown field `opp`" in message


def test_missing_field_names_the_mapping_line() -> None:
    assert "plan.yaml:1:1: missing `changes`" in validation_error("custom: 1\n")


def test_schema_error_message_overrides_the_generated_one() -> None:
    assert "plan.yaml:1:9: custom: must be 1, as the docs say" in validation_error("custom: 2\nchanges: []\n")


def test_first_error_in_file_order_is_reported() -> None:
    message = validation_error("changes:\n  - op: upsert\n  - op: merge\n")
    assert "plan.yaml:2:9" in message


def test_field_path_reads_like_the_file() -> None:
    assert field_path(("changes", 2, "set", "proxyAddresses", 0)) == "changes[2].set.proxyAddresses[0]"
    assert field_path(("rules", "odd key")) == "rules['odd key']"
    assert field_path(()) is None


@pytest.mark.parametrize("name", ["plan", "policy", "config"])
def test_shipped_schemas_are_valid_draft_2020_12(name: str) -> None:
    from dupfix_policy.schemas import load_schema

    Draft202012Validator.check_schema(load_schema(name))


def test_shape_reduction_gives_the_same_verdict_as_full_validation() -> None:
    from dupfix_policy._schema_fastpath import reduce, reducible
    from dupfix_policy.schemas import load_schema

    schema = load_schema("plan")
    significant = reducible(schema)
    assert significant is not None
    validator = Draft202012Validator(schema)
    good = {
        "op": "create",
        "kind": "user",
        "set": {"mail": "a@contoso.com", "proxyAddresses": ["SMTP:a@contoso.com"]},
    }
    variants = [
        {**good, "op": "upsert"},
        {**good, "ref": ""},
        {**good, "set": {"mail": "b@contoso.com", "proxyAddresses": []}},
        {**good, "set": {"mail": "b@contoso.com", "proxyAddresses": ["smtp:x@y", 1.5, True]}},
        {"op": "delete", "kind": "user", "target": {"id": "u1"}, "purge": 1},
        {"op": "update", "kind": "user", "target": {"id": "u1", "mail": "m"}, "set": {"mail": "m"}},
        {"op": "update", "kind": "user", "target": {"id": "u1"}, "add": {"proxyAddresses": []}},
        {"op": "restore", "kind": "contact", "target": {"id": "u1"}},
    ]
    for variant in variants:
        for changes in ([good, good, variant], [variant, good], [good, variant, variant]):
            data = {"version": 1, "changes": changes}
            assert validator.is_valid(reduce(data, significant)) == validator.is_valid(data), variant


def test_schemas_with_keywords_that_read_strings_are_not_reduced() -> None:
    from dupfix_policy._schema_fastpath import reducible

    assert reducible({"type": "array", "items": {"type": "string", "pattern": "^a"}}) is None
    assert reducible({"type": "array", "uniqueItems": True}) is None
