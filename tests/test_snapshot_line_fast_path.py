"""The fast path for snapshot lines (`records.plain_line_object`) must accept exactly what the
exact path (`strict_loads` + `object_problem` + `record_to_object`) accepts, and give the same
object: a line it gets wrong would be a wrong object in every check, audit and cache fill."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dupfix_policy.sources.records import (
    JsonProblem,
    object_problem,
    plain_line_object,
    record_to_object,
    strict_loads,
)

SETTINGS = settings(max_examples=600, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

NAMES = ["userPrincipalName", "mail", "proxyAddresses", "mailEnabled", "objectGUID", "displayName",
         "accountEnabled", "surname", "Mail", "extensionAttribute1", "groupTypes", "otherMails",
         "userType", "mS-DS-ConsistencyGuid", "quarantined", "state", "kind", "id"]  # fmt: skip
TEXT = st.sampled_from(["alice@contoso.com", "SMTP:a@contoso.com", "", 'quo"te', "back\\slash", "Zoë", ":x",
                        "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab", "\ud800"])  # fmt: skip
VALUES = st.one_of(
    TEXT, TEXT, TEXT, st.lists(TEXT, max_size=3), st.none(), st.booleans(), st.integers(-5, 5), st.lists(TEXT, max_size=3),
    st.lists(st.one_of(TEXT, st.integers()), max_size=2), st.dictionaries(st.sampled_from(["a", "b"]), TEXT, max_size=2),
    st.lists(st.fixed_dictionaries({"property": st.sampled_from(["UserPrincipalName", "ProxyAddress", "x"]),
                                    "value": TEXT}), max_size=2),
)  # fmt: skip


def _exact(line: bytes):
    """The exact path's object, or the exception it raises."""
    try:
        record = strict_loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError, JsonProblem) as exc:
        return exc
    if object_problem(record) is not None:
        return ValueError(object_problem(record))
    return record_to_object(record)


@st.composite
def lines(draw) -> bytes:
    head = {"id": draw(st.sampled_from(["u1", "u2", "u3", "", 5])),
            "kind": draw(st.sampled_from(["user", "group", "contact", "printer"])),
            "directory": draw(st.sampled_from(["entra", "ad", "entra", "cloud"]))}  # fmt: skip
    pairs = list(head.items()) + draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6))
    body = ",".join(f"{json.dumps(k)}{draw(st.sampled_from([':', ' :', ': ']))}{json.dumps(v, ensure_ascii=draw(st.booleans()))}"
                    for k, v in pairs)  # fmt: skip
    return ("{" + body + "}").encode("utf-8", "surrogatepass")


@SETTINGS
@given(lines())
def test_the_fast_path_gives_the_exact_paths_object_or_leaves_the_line_to_it(line):
    fast = plain_line_object(line)
    exact = _exact(line)
    if fast is not None:
        assert not isinstance(exact, Exception), f"fast path accepted {line!r}: {exact}"
        assert fast == exact


def test_a_key_given_twice_is_left_to_the_exact_path_which_refuses_it():
    line = b'{"id":"u1","kind":"user","directory":"entra","mail":"a@contoso.com","mail":"b@contoso.com"}'
    assert plain_line_object(line) is None
    assert isinstance(_exact(line), JsonProblem)


def test_a_plain_line_takes_the_fast_path():
    line = (b'{"id":"u1","kind":"user","directory":"entra","state":"active","mailEnabled":true,'
            b'"proxyAddresses":["SMTP:a@contoso.com"],"userPrincipalName":"a@contoso.com"}')  # fmt: skip
    fast = plain_line_object(line)
    assert fast is not None and fast == _exact(line)
