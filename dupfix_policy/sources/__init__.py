"""State sources: one subpackage per kind of directory state (snapshot, cache, graph, ldap) and `none`."""
