"""The fake Graph is as strict as Graph where a careless client would otherwise pass.

Plain httpx here, not the SDK: these tests pin the server, so that the source's tests against it
mean something (a fake that accepted 16 `or` clauses would let a packing bug through).
"""

from __future__ import annotations

import json

import httpx
import pytest
from graph_support import TENANT, TOKEN, group, user
from graphfake import Directory

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(graph, path: str, **headers: str) -> httpx.Response:
    return httpx.get(graph.url + path, headers={**AUTH, **headers})


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def ors(n: int) -> str:
    return " or ".join(f"mail eq 'u{i}@contoso.com'" for i in range(n))


def test_fifteen_or_clauses_are_accepted_and_sixteen_refused(graph):
    assert get(graph, f"/users?$filter={ors(15)}").status_code == 200
    refused = get(graph, f"/users?$filter={ors(16)}")
    assert refused.status_code == 400 and "Max allowed: 15" in refused.json()["error"]["message"]


def test_a_page_size_over_999_is_refused(graph):
    assert get(graph, "/users?$top=999").status_code == 200
    assert get(graph, "/users?$top=1000").status_code == 400


def test_users_proxy_addresses_come_back_only_when_selected(graph):
    graph.directory = Directory.of([user("alice@contoso.com"), group("Sales")], TENANT)
    assert "proxyAddresses" not in get(graph, "/users").json()["value"][0]
    assert get(graph, "/users?$select=id,proxyAddresses").json()["value"][0]["proxyAddresses"] == [
        "SMTP:alice@contoso.com"]  # fmt: skip
    assert "proxyAddresses" in get(graph, "/groups").json()["value"][0]  # groups return it by default


def test_an_unescaped_quote_is_a_syntax_error_and_a_doubled_one_matches(graph):
    graph.directory = Directory.of([user("o'brien@contoso.com")], TENANT)
    assert get(graph, "/users?$filter=mail eq 'o'brien@contoso.com'").status_code == 400
    assert len(get(graph, "/users?$filter=mail eq 'o''brien@contoso.com'").json()["value"]) == 1


def test_next_link_pages_through_everything_and_must_be_followed_as_given(graph):
    graph.directory = Directory.of([user(f"u{i}@contoso.com") for i in range(250)], TENANT)
    page = get(graph, "/users?$top=100").json()
    seen = len(page["value"])
    while "@odata.nextLink" in page:
        link = page["@odata.nextLink"]
        assert httpx.get(link + "&$top=100", headers=AUTH).status_code == 400
        page = httpx.get(link, headers=AUTH).json()
        seen += len(page["value"])
    assert seen == 250


def test_an_anchor_filter_needs_an_advanced_query(graph):
    flt = "/users?$filter=onPremisesImmutableId eq 'QUJD'"
    assert error_code(get(graph, flt)) == "Request_UnsupportedQuery"
    assert get(graph, flt + "&$count=true", ConsistencyLevel="eventual").json()["@odata.count"] == 0


def test_deleted_items_need_the_cast_the_sdk_sends(graph):
    assert get(graph, "/directory/deletedItems/graph.user").status_code == 200
    assert get(graph, "/directory/deletedItems").status_code == 400


def test_a_batch_takes_at_most_twenty_requests_and_answers_each_by_id(graph):
    requests = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(21)]
    assert httpx.post(graph.url + "/$batch", headers=AUTH, json={"requests": requests}).status_code == 400
    answer = httpx.post(graph.url + "/$batch", headers=AUTH, json={"requests": requests[:20]}).json()
    assert sorted(int(r["id"]) for r in answer["responses"]) == list(range(20))


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"bearer {TOKEN}x"])
def test_requests_without_the_right_token_are_401(graph, header):
    response = httpx.get(graph.url + "/users", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and error_code(response) == "InvalidAuthenticationToken"


def test_a_collection_without_its_permission_is_403(graph):
    graph.roles = {"User.Read.All"}
    assert get(graph, "/users").status_code == 200
    assert error_code(get(graph, "/contacts")) == "Authorization_RequestDenied"
    assert json.loads(get(graph, "/groups").content)["error"]["code"] == "Authorization_RequestDenied"


# --- $orderby on the recycle bin (issue 16) ----------------------------------------------------

NEWEST_FIRST = "/directory/deletedItems/microsoft.graph.user?$orderby=deletedDateTime desc&$count=true"


@pytest.fixture
def bin_of_three(graph):
    graph.directory = Directory.of([user(f"d{i}@contoso.com", state="soft-deleted") for i in range(3)], TENANT)
    for i, record in enumerate(graph.directory.collections["deletedUsers"].records):
        record["deletedDateTime"] = f"2026-11-0{i + 1}T10:00:00Z"
    return graph


def test_the_recycle_bin_sorts_by_deletion_time_as_an_advanced_query(bin_of_three):
    page = get(bin_of_three, NEWEST_FIRST + "&$select=id,deletedDateTime", ConsistencyLevel="eventual").json()
    assert [r["deletedDateTime"] for r in page["value"]] == [f"2026-11-0{i}T10:00:00Z" for i in (3, 2, 1)]
    oldest_first = NEWEST_FIRST.replace(" desc", " asc") + "&$select=id,deletedDateTime"
    page = get(bin_of_three, oldest_first, ConsistencyLevel="eventual").json()
    assert page["value"][0]["deletedDateTime"] == "2026-11-01T10:00:00Z"


def test_sorting_the_recycle_bin_without_consistency_level_eventual_is_refused(bin_of_three):
    assert get(bin_of_three, NEWEST_FIRST).status_code == 400
    assert error_code(get(bin_of_three, NEWEST_FIRST.replace("&$count=true", ""))) == "Request_UnsupportedQuery"


def test_sorting_the_recycle_bin_without_count_is_refused(bin_of_three):
    path = NEWEST_FIRST.replace("&$count=true", "")
    assert error_code(get(bin_of_three, path, ConsistencyLevel="eventual")) == "Request_UnsupportedQuery"


def test_sorting_live_users_by_deletion_time_is_refused(bin_of_three):
    response = get(bin_of_three, "/users?$orderby=deletedDateTime desc&$count=true", ConsistencyLevel="eventual")
    assert error_code(response) == "Request_UnsupportedQuery"


def test_deletion_time_is_selectable_only_on_deleted_items(bin_of_three):
    assert get(bin_of_three, "/directory/deletedItems/graph.user?$select=id,deletedDateTime").status_code == 200
    assert get(bin_of_three, "/users?$select=id,deletedDateTime").status_code == 400
