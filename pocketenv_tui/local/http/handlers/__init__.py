"""XRPC handlers, one module per area; each has ``methods(backend) -> list[Method]``."""

from pocketenv_tui.local.http.handlers import (
    exec_stream,
    monitoring,
    ports,
    resources,
    sandboxes,
    services,
    settings,
    shells,
    transfer,
)

MODULES = (sandboxes, resources, services, ports, settings, transfer, shells, exec_stream, monitoring)
