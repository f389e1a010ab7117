"""A Microsoft Graph look-alike on 127.0.0.1 that is as strict as Graph where it matters.

What it checks (each is a 4xx, as from Graph): the bearer token, the application permissions
per collection, the paths msgraph-sdk really sends (`/directory/deletedItems/graph.user`), `$filter`
syntax and quoting, at most 15 `or` clauses, properties a collection can filter on and which need
an advanced query (`ConsistencyLevel: eventual` + `$count=true`), known `$select` names, `$top` from
1 to 999, unknown `$` parameters, `$batch` bodies (at most 20 requests, unique ids, relative URLs).
What it does like Graph: users' `proxyAddresses` only when `$select`ed, `@odata.nextLink` paging
with an opaque `$skiptoken`, `$batch` answers in an order of its own.

Faults are injected per test (`Fault`): a status (429/503 with Retry-After, 401, 500), a slow
answer, a truncated JSON body, or a `$batch` item that fails or goes missing, matched by path and
limited to a number of times. Every request is counted (`stats`), so tests and the benchmark can
say how many round trips a check cost.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .directory import Directory, page_body, select_of
from .odata import FilterError, parse_filter

VERSION = "/v1.0"
KNOWN_PARAMS = {"$filter", "$select", "$top", "$count", "$skiptoken", "$deltatoken", "$orderby"}
DELTA_PATHS = {"/users/delta": "users", "/groups/delta": "groups", "/contacts/delta": "contacts"}
PATHS = {
    "/users": "users",
    "/groups": "groups",
    "/contacts": "contacts",
    "/directory/deletedItems/graph.user": "deletedUsers",
    "/directory/deletedItems/microsoft.graph.user": "deletedUsers",
    "/directory/deletedItems/graph.group": "deletedGroups",
    "/directory/deletedItems/microsoft.graph.group": "deletedGroups",
}
ALL_READ = "Directory.Read.All"
MAX_BATCH = 20
MAX_TOP = 999
DEFAULT_TOP = 100


@dataclass
class Fault:
    """Something to go wrong on requests whose path (below /v1.0, with query) contains `match`.

    `where`: "http" for whole HTTP requests (a direct GET, or the `$batch` POST itself when `match`
    is "/$batch"), "item" for requests inside a `$batch`, "any" for both. `times=None`: forever.
    """

    match: str
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    truncate: bool = False
    drop: bool = False  # leave the item out of the $batch answer
    times: int | None = 1
    where: str = "any"
    fired: int = 0


@dataclass
class Stats:
    http_requests: int = 0
    batch_posts: int = 0
    batch_items: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, raw path) of every HTTP request
    item_urls: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)  # decoded $filter of every answered GET, batched or not

    def reset(self) -> None:
        self.http_requests = self.batch_posts = self.batch_items = 0
        self.requests.clear()
        self.item_urls.clear()
        self.filters.clear()


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message,
                          "innerError": {"date": "2026-11-26T08:00:00", "request-id": "fake"}}}  # fmt: skip


class GraphFake:
    """The server: start it, point `--graph-url` at `.url`, send the token in `.token`."""

    def __init__(self, directory: Directory, *, token: str = "fake-graph-token", latency: float = 0.0,
                 roles: set[str] | None = None, seed: int = 7):  # fmt: skip
        self.directory = directory
        self.token = token
        self.latency = latency
        self.roles = set(roles) if roles is not None else {ALL_READ}
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.github_request_token = "fake-actions-request-token"
        self.github_oidc_token = "fake.github.oidc"
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> GraphFake:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="graphfake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GraphFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{VERSION}"

    def reset(self) -> None:
        """Between tests: no faults, full permissions, the default token, counters at zero."""
        with self._lock:
            self.faults.clear()
            self.roles = {ALL_READ}
            self.stats.reset()

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _fault(self, target: str, where: str) -> Fault | None:
        """The first fault whose `match` is in the request's path and query, raw or percent-decoded."""
        decoded = unquote(target)
        with self._lock:
            for f in self.faults:
                if (
                    (f.match in target or f.match in decoded)
                    and f.where in (where, "any")
                    and (f.times is None or f.fired < f.times)
                ):
                    f.fired += 1
                    return f
        return None

    # -- answering ---------------------------------------------------------------------------------

    def authorize(self, header: str | None) -> None:
        if not header:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.",
                             {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})  # fmt: skip
        if header != f"Bearer {self.token}":
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.",
                             {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})  # fmt: skip

    def _need(self, permission: str) -> None:
        if ALL_READ not in self.roles and permission not in self.roles:
            raise GraphError(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )

    def get(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Answer one GET (direct or inside a $batch): (status, headers, JSON body)."""
        path, _, query = target.partition("?")
        if path == "/organization":
            self._need("Organization.Read.All")
            params = self._params(query)
            names = select_of(params.get("$select"), _ORG_RULES) if "$select" in params else None
            org = self.directory.organization()
            if names:
                org = {k: v for k, v in org.items() if k in names or k == "id"}
            body = {"@odata.context": f"http://127.0.0.1{VERSION}/$metadata#organization", "value": [org]}
            return 200, {}, json.dumps(body).encode()
        if path in DELTA_PATHS:
            return self._delta(path, query)
        if path == "/directory/deletedItems":
            raise GraphError(400, "Request_BadRequest", "The OData cast type is a required part of the URI.")
        name = PATHS.get(path)
        if name is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource not found for the segment '{path}'.")
        collection = self.directory.collections[name]
        self._need(collection.rules.permission)
        params = self._params(query)
        if "$skiptoken" in params:
            if len(params) != 1:
                raise GraphError(
                    400, "BadRequest", "A nextLink must be followed as it is: no other parameters."
                )
            params = _decode_token(params["$skiptoken"])
        advanced = headers.get("consistencylevel", "").lower() == "eventual"
        count = params.get("$count", "").lower() == "true"
        if "$count" in params and params["$count"].lower() not in ("true", "false"):
            raise GraphError(400, "BadRequest", "$count must be true or false.")
        if count and not advanced:
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        try:
            top = int(params.get("$top", DEFAULT_TOP))
        except ValueError:
            raise GraphError(
                400, "BadRequest", f"Invalid page size specified: '{params.get('$top')}'."
            ) from None
        if not 1 <= top <= MAX_TOP:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP} inclusive.")  # fmt: skip
        select = select_of(params.get("$select"), collection.rules, collection.selectable())
        positions: list[int]
        if "$filter" in params:
            node = parse_filter(params["$filter"])
            collection.check(node, advanced and count)
            positions = sorted(collection.evaluate(node))
            with self._lock:
                self.stats.filters.append(params["$filter"])
        else:
            positions = list(range(len(collection.records)))
        if "$orderby" in params:
            positions = self._ordered(collection, params["$orderby"], positions, advanced and count)
        offset = int(params.get("_offset", 0))
        window = positions[offset : offset + top]
        next_link = None
        if offset + top < len(positions):
            state = {k: v for k, v in params.items() if k != "_offset"} | {"_offset": str(offset + top)}
            next_link = f"http://127.0.0.1:{self.port}{VERSION}{path}?$skiptoken={_encode_token(state)}"
        context = f"http://127.0.0.1{VERSION}/$metadata#{name}"
        body = page_body(collection, window, select, context, next_link, len(positions) if count else None)
        return 200, {}, body

    @staticmethod
    def _ordered(collection: Any, orderby: str, positions: list[int], advanced: bool) -> list[int]:
        """`$orderby` as Graph takes it on directory objects here: only `deletedDateTime` of deleted
        items, asc or desc, and only as an advanced query (`ConsistencyLevel: eventual` and
        `$count=true`); anything else is 400 "Sorting not supported for current query"."""
        prop, _, direction = orderby.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if not collection.deleted or prop != "deletedDateTime" or direction not in ("asc", "desc"):
            raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
        if not advanced:
            raise GraphError(
                400, "Request_UnsupportedQuery",
                "Sorting not supported for current query. $orderby on deletedDateTime needs "
                "ConsistencyLevel: eventual and $count=true.",
            )  # fmt: skip
        return collection.ordered_by_deletion(positions, direction == "desc")

    def _delta(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        """`GET /users/delta` and friends: first every object, then what changed since a token.

        Pages end in `@odata.nextLink` ($skiptoken) until the last, which carries an
        `@odata.deltaLink` ($deltatoken) for the next round; removed objects come as
        `{"id": …, "@removed": {"reason": "changed" | "deleted"}}`. A token older than the
        directory's `delta_floor` is 410 Gone, as Graph answers an expired one.
        """
        name = DELTA_PATHS[path]
        collection = self.directory.collections[name]
        self._need(collection.rules.permission)
        params = self._params(query)
        if "$skiptoken" in params:
            state = _decode_token(params["$skiptoken"])
        elif "$deltatoken" in params:
            token = _decode_token(params["$deltatoken"])
            if int(token.get("v", -1)) < self.directory.delta_floor:
                raise GraphError(410, "SyncStateNotFound", "The delta token has expired; a full resync is required.")
            state = {"since": token["v"], "select": token.get("select", "")}
        else:
            state = {"since": "", "select": params.get("$select", "")}
        state.setdefault("upto", str(self.directory.version))
        select = select_of(state["select"] or None, collection.rules)
        since, upto, offset = state["since"], int(state["upto"]), int(state.get("_offset", 0))
        if since == "":
            items: list[tuple[str, Any, str]] = [(r["id"], pos, "") for pos, r in enumerate(collection.records)]
        else:
            items = [(oid, record, reason) for oid, record, reason in self.directory.delta(name, int(since), upto)]
        window = items[offset : offset + MAX_TOP]
        head: dict[str, Any] = {"@odata.context": f"http://127.0.0.1{VERSION}/$metadata#{name}/delta"}
        base = f"http://127.0.0.1:{self.port}{VERSION}{path}"
        if offset + MAX_TOP < len(items):
            head["@odata.nextLink"] = f"{base}?$skiptoken={_encode_token(state | {'_offset': str(offset + MAX_TOP)})}"
        else:
            head["@odata.deltaLink"] = f"{base}?$deltatoken={_encode_token({'v': str(upto), 'select': state['select']})}"
        values: list[bytes] = []
        for oid, record, reason in window:
            if since == "":
                values.append(collection.projected(record, select))
            elif record is None:
                values.append(json.dumps({"id": oid, "@removed": {"reason": reason}}).encode())
            else:
                names = select or collection.rules.default_select or collection.rules.properties
                view = {n: record.get(n) for n in names} | {"id": oid}
                values.append(json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode())
        prefix = json.dumps(head, separators=(",", ":"))[:-1].encode()
        return 200, {}, prefix + b',"value":[' + b",".join(values) + b"]}"

    def _params(self, query: str) -> dict[str, str]:
        params: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            if k in params:
                raise GraphError(400, "BadRequest", f"Query option '{k}' was specified more than once.")
            if k.startswith("$") and k not in KNOWN_PARAMS:
                raise GraphError(400, "BadRequest", f"Query option '{k}' is not allowed.")
            params[k] = v
        return params

    def batch(self, raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "BadRequest", "Invalid batch payload format.") from None
        requests = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            raise GraphError(400, "BadRequest", f"Limit of {MAX_BATCH} requests per batch exceeded.")
        ids = [r.get("id") if isinstance(r, dict) else None for r in requests]
        if any(not isinstance(i, str) or not i for i in ids) or len({i.lower() for i in ids}) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be unique, non-empty strings.")
        responses = []
        for r in requests:
            url = r.get("url")
            if r.get("method") != "GET":
                raise GraphError(400, "BadRequest", "This fake answers GET requests inside $batch only.")
            if not isinstance(url, str) or not url.startswith("/") or "://" in url:
                raise GraphError(400, "BadRequest", "Batch request urls must be relative, starting with '/'.")
            with self._lock:
                self.stats.batch_items += 1
                self.stats.item_urls.append(url)
            fault = self._fault(url, "item")
            if fault is not None and fault.drop:
                continue
            item_headers = {str(k).lower(): str(v) for k, v in (r.get("headers") or {}).items()}
            responses.append({"id": r["id"], **self._answer_item(url, item_headers, fault)})
        self._rng.shuffle(responses)
        return {"responses": responses}

    def _answer_item(self, url: str, headers: dict[str, str], fault: Fault | None) -> dict[str, Any]:
        if fault is not None and fault.status is not None:
            err = GraphError(fault.status, _code(fault.status), "Injected fault.")
            out_headers = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                out_headers["Retry-After"] = _seconds(fault.retry_after)
            return {"status": fault.status, "headers": out_headers, "body": err.body()}
        try:
            status, extra, body = self.get(url, headers)
        except FilterError as exc:
            return {"status": 400, "headers": {}, "body": GraphError(400, exc.code, exc.message).body()}
        except GraphError as exc:
            return {"status": exc.status, "headers": exc.headers, "body": exc.body()}
        if fault is not None and fault.truncate:
            return {"status": status, "headers": {"Content-Type": "application/json"},
                    "body": body[: len(body) // 2].decode("utf-8", "replace")}  # fmt: skip
        return {
            "status": status,
            "headers": {"Content-Type": "application/json", **extra},
            "body": json.loads(body),
        }


_ORG_RULES = type("OrgRules", (), {"properties": ("id", "displayName", "verifiedDomains"),
                                   "type_name": "microsoft.graph.organization"})()  # fmt: skip


def _code(status: int) -> str:
    return {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout", 500: "InternalServerError",
            401: "InvalidAuthenticationToken", 403: "Authorization_RequestDenied"}.get(status, "Error")  # fmt: skip


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _encode_token(state: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, str]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "Request_BadRequest", "The $skiptoken is invalid.") from None
    if not isinstance(state, dict):
        raise GraphError(400, "Request_BadRequest", "The $skiptoken is invalid.")
    return {str(k): str(v) for k, v in state.items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a test's time budget ran out) is not the server's error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: GraphFake

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, exc: GraphError) -> None:
        self._send(exc.status, json.dumps(exc.body()).encode(), exc.headers)

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        raw_path = self.path
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        parts = urlsplit(raw_path)
        if parts.path == "/_actions/token":
            return self._github_token(parts.query)
        if parts.path == "/_actions/touch":  # the cache benchmark: change a fraction of the objects
            fraction = float(dict(parse_qsl(parts.query)).get("fraction", "0.01"))
            with fake._lock:
                changed = fake.directory.touch(fraction)
            return self._send(200, json.dumps({"changed": changed}).encode())
        if parts.path == "/_stats":  # for the benchmark, which runs the fake in another process
            with fake._lock:
                counts = {"http_requests": fake.stats.http_requests, "batch_posts": fake.stats.batch_posts,
                          "batch_items": fake.stats.batch_items}  # fmt: skip
            return self._send(200, json.dumps(counts).encode())
        with fake._lock:
            fake.stats.http_requests += 1
            fake.stats.requests.append((method, raw_path))
        if fake.latency:
            time.sleep(fake.latency)
        if not parts.path.startswith(VERSION + "/"):
            return self._error(GraphError(404, "Request_ResourceNotFound", "Unknown API version."))
        target = parts.path[len(VERSION) :] + (("?" + parts.query) if parts.query else "")
        fault = fake._fault(target, "http")
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                headers = (
                    {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after is not None else {}
                )
                return self._error(GraphError(fault.status, _code(fault.status), "Injected fault.", headers))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            fake.authorize(self.headers.get("Authorization"))
            if method == "POST" and parts.path == VERSION + "/$batch":
                with fake._lock:
                    fake.stats.batch_posts += 1
                out = json.dumps(fake.batch(body, headers), ensure_ascii=False).encode("utf-8")
                status, extra = 200, {}
            elif method == "GET":
                status, extra, out = fake.get(target, headers)
            else:
                raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")
        except FilterError as exc:
            return self._error(GraphError(400, exc.code, exc.message))
        except GraphError as exc:
            return self._error(exc)
        if fault is not None and fault.truncate:
            out = out[: max(1, len(out) // 2)]
        self._send(status, out, extra)

    def _github_token(self, query: str) -> None:
        """The GitHub Actions OIDC endpoint, for the github-oidc credential's assertion function."""
        fake = self.server_fake
        params = dict(parse_qsl(query))
        if self.headers.get("Authorization") != f"Bearer {fake.github_request_token}":
            return self._send(401, b'{"message":"bad request token"}')
        if params.get("audience") != "api://AzureADTokenExchange":
            return self._send(400, b'{"message":"wrong audience"}')
        self._send(200, json.dumps({"value": fake.github_oidc_token}).encode())

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")
