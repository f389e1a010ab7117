"""The `graph` source: live Entra ID through Microsoft Graph, one module per job.

- `source`: `GraphSource` (look-ups, scans, delta for the state cache, notes) and `create`;
- `auth`: azure-identity credentials chosen by `DUPFIX_GRAPH_AUTH` (no secret is ever printed);
- `http`: requests through msgraph-sdk's adapter with our own retry budget (429/503/504, Retry-After);
- `queries`: claim keys as `$filter` clauses (OData literals escaped), 15 per filter, 20 per `$batch`;
- `reader`: pages and answers; `delta`: delta links and the recycle bin; `doctor`; `progress`.

Registered without importing msgraph-sdk, azure-identity, httpx or asyncio: they load when a
`graph` source is opened (and an install without the `graph` extra says so, exit 3).
"""

from __future__ import annotations

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory
from .. import lazy_factory

SCHEME = "graph"


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [lazy_factory(SCHEME, f"{__name__}.source", "live Entra ID through Microsoft Graph (msgraph-sdk + azure-identity)")]
