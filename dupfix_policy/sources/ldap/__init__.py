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

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory
from .. import lazy_factory

SCHEME = "ldap"


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    description = (
        "live on-prem Active Directory over LDAP (ldap://host:port/BASE or ldaps://; "
        "bind from DUPFIX_LDAP_USER / DUPFIX_LDAP_PASSWORD)"
    )
    return [lazy_factory(SCHEME, f"{__name__}.source", description)]
