"""GUIDs in AD's byte order without the uuid module (it imports `platform` at every start): the
same bytes and strings as `uuid.UUID`, and the same refusals."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dupfix_policy.values import guid_bytes_le, guid_from_bytes_le


@settings(max_examples=200, derandomize=True)
@given(st.uuids(), st.sampled_from([str, lambda s: str(s).upper(), lambda s: "{" + str(s) + "}", lambda u: u.hex]))
def test_a_guid_string_gives_the_bytes_uuid_gives(value, spell):
    text = spell(value)
    assert guid_bytes_le(text) == uuid.UUID(text).bytes_le
    assert guid_from_bytes_le(value.bytes_le) == str(uuid.UUID(bytes_le=value.bytes_le))


@pytest.mark.parametrize("text", ["", "9c7a0b1e", "g" * 32, "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab0"])
def test_what_is_not_a_guid_is_refused(text):
    with pytest.raises(ValueError):
        guid_bytes_le(text)
