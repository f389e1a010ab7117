"""Which `$filter` clauses a claim key becomes, how they are packed, and how answers are read.

Pure functions: the domain cases are literal keys and literal Graph JSON.
"""

from __future__ import annotations

import pytest

from dupfix_policy.addresses import claims_of
from dupfix_policy.sources.graph.http import retry_after_seconds
from dupfix_policy.sources.graph.queries import (
    DELETED_USERS,
    GROUPS,
    MAX_CLAUSES,
    USERS,
    MalformedAnswer,
    clauses_for_key,
    odata_string,
    parse_page,
    plan_queries,
    tenant_of,
    to_object,
)


def test_a_quote_in_an_odata_literal_is_doubled():
    assert odata_string("o'brien@contoso.com") == "'o''brien@contoso.com'"


def test_an_smtp_address_is_asked_as_mail_and_proxy_address_in_all_five_collections():
    clauses = clauses_for_key("proxy:smtp:sales@contoso.com")
    assert len(clauses) == 10
    assert {c.collection for c in clauses} == {"users", "groups", "contacts", "deletedUsers", "deletedGroups"}
    assert {c.text for c in clauses} == {"mail eq 'sales@contoso.com'",
                                         "proxyAddresses/any(x:x eq 'smtp:sales@contoso.com')"}  # fmt: skip


def test_another_proxy_type_is_asked_only_as_a_proxy_address():
    clauses = clauses_for_key("proxy:sip:alice@contoso.com")
    assert {c.text for c in clauses} == {"proxyAddresses/any(x:x eq 'sip:alice@contoso.com')"}


def test_a_deleted_users_original_upn_is_searched_only_for_targets():
    assert [c.collection for c in clauses_for_key("upn:bob@contoso.com")] == ["users"]
    as_target = clauses_for_key("upn:bob@contoso.com", target=True)
    assert [(c.collection, c.text, c.advanced) for c in as_target][-1] == (
        "deletedUsers", "endswith(userPrincipalName,'bob@contoso.com')", True)  # fmt: skip


def test_an_anchor_needs_an_advanced_query():
    clauses = clauses_for_key("anchor:HBkH8kL0Z0CqVg7Q3Yp8ug==")
    assert {(c.collection, c.advanced) for c in clauses} == {("users", True), ("deletedUsers", True)}


def test_an_id_that_is_not_an_entra_object_id_is_not_asked():
    assert clauses_for_key("id:not-a-guid") == []
    assert len(clauses_for_key("id:5b1e0c7a-0000-4000-8000-000000000001") or []) == 5


@pytest.mark.parametrize(
    "key", ["target:smtp:ext@fabrikam.com", "dn:cn=bob,dc=contoso,dc=com", "sam:contoso.com\\bob"]
)
def test_keys_graph_has_no_attribute_for_are_reported_unsupported(key):
    plan = plan_queries([key])
    assert plan.queries == [] and plan.unsupported == {key.split(":")[0]: [key]}


def test_clauses_are_packed_fifteen_to_a_request_one_collection_and_kind_per_request():
    keys = [f"proxy:smtp:u{i}@contoso.com" for i in range(20)] + ["anchor:QUJD", "alias:sales"]
    plan = plan_queries(keys)
    assert plan.clause_count == 20 * 10 + 2 + 4
    assert all(len(q.clauses) <= MAX_CLAUSES for q in plan.queries)
    advanced = [q for q in plan.queries if q.advanced]
    assert [(q.collection.name, q.clauses) for q in advanced] == [
        ("users", ("onPremisesImmutableId eq 'QUJD'",)), ("deletedUsers", ("onPremisesImmutableId eq 'QUJD'",))]  # fmt: skip
    per_collection = {q.collection.name: 0 for q in plan.queries}
    for q in plan.queries:
        per_collection[q.collection.name] += 1
    assert per_collection == {"users": 4, "groups": 3, "contacts": 3, "deletedUsers": 4, "deletedGroups": 3}


def test_a_graph_user_becomes_an_entra_object_with_its_quarantined_values():
    record = {
        "id": "0c1e0000-0000-4000-8000-000000000001", "userPrincipalName": "dave@contoso.com", "mail": None,
        "proxyAddresses": ["SMTP:dave@contoso.com"], "userType": "Member",
        "onPremisesProvisioningErrors": [
            {"category": "PropertyConflict", "propertyCausingError": "ProxyAddress", "value": "sales@contoso.com"},
            {"category": "PropertyConflict", "propertyCausingError": "UserPrincipalName", "value": "d@contoso.com"},
        ],
    }  # fmt: skip
    obj = to_object(record, USERS)
    assert (obj.kind, obj.directory, obj.state) == ("user", "entra", "active")
    assert dict(obj.attributes) == {"userPrincipalName": "dave@contoso.com", "proxyAddresses": ("SMTP:dave@contoso.com",),
                                    "userType": "Member"}  # fmt: skip
    quarantined = {(c.key, c.via) for c in claims_of(obj) if c.via == "quarantine"}
    assert quarantined == {
        ("proxy:smtp:sales@contoso.com", "quarantine"),
        ("upn:d@contoso.com", "quarantine"),
    }


def test_a_deleted_item_of_the_wrong_type_is_a_malformed_answer():
    with pytest.raises(MalformedAnswer):
        to_object({"id": "x", "@odata.type": "#microsoft.graph.group"}, DELETED_USERS)
    assert to_object({"id": "x", "@odata.type": "#microsoft.graph.group"}, GROUPS).kind == "group"


@pytest.mark.parametrize("body", [b'{"value":[{"id":"1"},{"i', b'{"error":{}}', b"[]", b'{"value":{}}'])
def test_a_page_that_is_not_a_complete_collection_is_malformed(body):
    with pytest.raises(MalformedAnswer):
        parse_page(body)


def test_a_page_gives_its_records_and_next_link():
    page = parse_page(
        b'{"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=X","value":[{"id":"1"}]}'
    )
    assert page.records == [{"id": "1"}] and page.next_link.endswith("$skiptoken=X")


def test_the_tenant_has_its_initial_and_verified_domains():
    org = {"value": [{"verifiedDomains": [{"name": "contoso.com", "isInitial": False},
                                          {"name": "contoso.onmicrosoft.com", "isInitial": True}]}]}  # fmt: skip
    assert tenant_of(org) == ("contoso.onmicrosoft.com", ("contoso.com", "contoso.onmicrosoft.com"))


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def test_the_fast_filter_url_is_exactly_the_url_the_sdk_builds():
    from dupfix_policy.sources.graph.queries import COLLECTIONS
    from dupfix_policy.sources.graph.source import GraphSource

    source = GraphSource("graph", "https://graph.microsoft.com/v1.0", quiet=True)
    http, _ = source._run(source._session())  # no request is sent: only the SDK's URL building
    flt = "proxyAddresses/any(x:x eq 'smtp:o''brien+x&y=z@contoso.com') or mail eq 'a#b%c@d' or mailNickname eq 'jürgen'"
    try:
        for collection in COLLECTIONS:
            for advanced in (False, True):
                sdk = str(http.collection_request(collection, filter=flt, advanced=advanced).url)
                assert http.filter_url(collection, flt, advanced) == sdk
    finally:
        source.close()


def test_a_next_link_that_leaves_the_endpoint_is_refused():
    from dupfix_policy.errors import StateUnavailableError
    from dupfix_policy.sources.graph.source import GraphSource

    source = GraphSource("graph", "https://graph.microsoft.com/v1.0", quiet=True)
    http, _ = source._run(source._session())
    try:
        assert "$skiptoken=X" in str(http.next_link_request(USERS, "https://graph.microsoft.com/v1.0/users?$skiptoken=X").url)
        with pytest.raises(StateUnavailableError, match="refusing to follow"):
            http.next_link_request(USERS, "https://graph.microsoft.com.evil.example/v1.0/users?$skiptoken=X")
    finally:
        source.close()
