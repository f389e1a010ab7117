"""A Graph-compatible test server (127.0.0.1, random port) for driving the real msgraph-sdk."""

from .directory import Directory, graph_record
from .server import Fault, GraphFake

__all__ = ["Directory", "Fault", "GraphFake", "graph_record"]
