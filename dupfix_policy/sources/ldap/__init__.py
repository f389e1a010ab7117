"""The `ldap://` source: on-prem Active Directory over LDAP (ldap3), one module per job.

- `source`: `LdapSource` (look-ups, scans, notes) and `create`;
- `settings`: the URL, bind, TLS and paging settings from the spec and the environment;
- `connection`: one bound connection, paged searches, the schema and rootDSE;
- `filters`: claim keys and targets as RFC 4515 assertions (every value escaped);
- `entries`: LDAP entries as `DirectoryObject`s (GUIDs, SIDs, anchors, IdFix's exclusions);
- `diagnose`: `dupfix doctor`; `dirsync`: incremental reads for the state cache.

This module is what the plugin manager imports at every start, so it registers the source
without importing ldap3 or the implementation: both load when an `ldap://` source is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory

if TYPE_CHECKING:
    from .source import LdapSource

SCHEME = "ldap"


def create(spec: str, options: Mapping[str, Any]) -> LdapSource:
    """`ldap://host:port/BASE` or `ldaps://…` -> LdapSource (nothing is contacted yet)."""
    from .source import create as make

    return make(spec, options)


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [
        SourceFactory(
            scheme=SCHEME,
            create=create,
            description="live on-prem Active Directory over LDAP (ldap://host:port/BASE or ldaps://; "
            "bind from DUPFIX_LDAP_USER / DUPFIX_LDAP_PASSWORD)",
        )
    ]
