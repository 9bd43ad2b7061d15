"""The old home of the shared HTTP layer; it now lives in fakes/core/server.py."""

from .core.server import BackgroundServer, FastHandler, LoopbackServer

__all__ = ["BackgroundServer", "FastHandler", "LoopbackServer"]
