"""Telling "this server has no shell methods" from "this call failed", and lenient shell records."""

from __future__ import annotations

import pytest

from pocketenv_tui.api import PocketenvConnectionError, PocketenvError
from pocketenv_tui.api.namespaces.shells import shell_listing_unsupported
from pocketenv_tui.api.resource_models import Shell


@pytest.mark.parametrize(
    ("error", "unsupported"),
    [
        (PocketenvError(501, "MethodNotImplemented", "Method Not Implemented"), True),
        (PocketenvError(404, "XRPCNotSupported", "Not Found"), True),  # the hosted 404 page
        (PocketenvError(400, "MethodNotImplemented", "no such method"), True),
        (PocketenvError(404, "SandboxNotFound", "Sandbox not found"), False),
        (PocketenvError(404, "ShellNotFound", "No shell with that key"), False),
        (PocketenvError(401, "AuthenticationRequired", "Invalid token"), False),
        (PocketenvError(500, "InternalServerError", "Internal Server Error"), False),
        (PocketenvConnectionError("cannot connect"), False),
    ],
)
def test_shell_listing_unsupported(error: PocketenvError, unsupported: bool) -> None:
    assert shell_listing_unsupported(error) is unsupported


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"key": "k", "startedAt": 1776245400, "command": "", "clients": -3}, ("k", None, None)),
        ({"key": "k", "command": 12, "clients": "2"}, ("k", "12", 2)),
        ({"key": None}, None),
        ({"clients": 1}, None),
        ("k", None),
    ],
)
def test_odd_shell_records(data: object, expected: tuple | None) -> None:
    shell = Shell.from_json(data)
    assert (None if shell is None else (shell.key, shell.command, shell.clients)) == expected
