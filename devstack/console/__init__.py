"""The local stack's web console (see :mod:`devstack.console.server`)."""

from devstack.console.server import ConsoleServer

__all__ = ["ConsoleServer"]
