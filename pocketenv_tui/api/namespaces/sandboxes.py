"""``io.pocketenv.sandbox.*``: lifecycle, exec, ports, preferences, keys, directory copies.

The server matches sandbox identifiers against different columns per endpoint (some take a
name, some only the exact id; reference/api.md §1.6), so every method here resolves what it is
given to the sandbox id first (:meth:`SandboxesNamespace.resolve_id`, cached) and sends only
that id.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pocketenv_tui.api.config import ClientConfig
from pocketenv_tui.api.crypto import redact, redact_ssh_private_key, redact_tailscale
from pocketenv_tui.api.errors import PocketenvError, PocketenvTimeoutError
from pocketenv_tui.api.exec_stream import ExecEvent, ExecStreamUnsupported, stream_exec
from pocketenv_tui.api.models import STATUS_RUNNING, Sandbox, SandboxPage, items_of
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.pagination import iterate_pages
from pocketenv_tui.api.resource_models import ExecResult, Integration, Port, SshKeys, TailscaleKey
from pocketenv_tui.api.xrpc import XrpcTransport, drop_none

SANDBOX_ID_PREFIX = "sbx_"

# Provider credentials createSandbox accepts sealed, each with a plaintext "redacted<Name>" twin.
SEALED_CREDENTIALS = frozenset(
    {
        "spriteToken",
        "denoDeployToken",
        "daytonaApiKey",
        "vercelApiToken",
        "modalTokenId",
        "modalTokenSecret",
        "e2bApiKey",
        "hopxApiKey",
        "runloopApiKey",
    }
)
# Provider settings that travel in plaintext next to them.
PLAIN_CREDENTIALS = frozenset({"daytonaOrganizationId", "vercelProjectId", "vercelTeamId"})

# Time allowed on top of a server-side exec timeout before the client gives up waiting.
EXEC_GRACE_SECONDS = 15.0


def redacted_twin(field: str) -> str:
    return "redacted" + field[0].upper() + field[1:]


class SandboxesNamespace(Namespace):
    def __init__(self, xrpc: XrpcTransport, config: ClientConfig, *, exec_timeout: float) -> None:
        super().__init__(xrpc, config, self.resolve_id)
        self.exec_timeout = exec_timeout
        # Whether the server streams exec output (None until a call tells).
        self.exec_stream_offered: bool | None = None
        self._ids: dict[str, str] = {}
        self._resolve_lock = asyncio.Lock()

    # --- identifiers --------------------------------------------------------------------

    async def resolve_id(self, id_name_or_uri: str) -> str:
        """The sandbox id for an id, a name or an ``at://`` URI.

        ``sbx_`` ids pass through untouched. Anything else is looked up once with getSandbox
        and remembered for the life of the client.
        """
        ident = (id_name_or_uri or "").strip()
        if not ident:
            raise PocketenvError(400, "InvalidRequest", "a sandbox id or name is required")
        if ident.startswith(SANDBOX_ID_PREFIX):
            return ident
        if ident in self._ids:
            return self._ids[ident]
        async with self._resolve_lock:
            if ident not in self._ids:
                sandbox = await self._fetch(ident)
                if sandbox is None:
                    raise PocketenvError(
                        404,
                        "SandboxNotFound",
                        f"no sandbox named {ident!r}",
                        nsid="io.pocketenv.sandbox.getSandbox",
                    )
                self._ids[ident] = sandbox.id
        return self._ids[ident]

    def _remember(self, sandbox: Sandbox) -> None:
        for alias in (sandbox.name, sandbox.uri, sandbox.id):
            if alias:
                self._ids[alias] = sandbox.id

    def _forget(self, sandbox_id: str) -> None:
        for alias in [alias for alias, known in self._ids.items() if known == sandbox_id]:
            del self._ids[alias]

    async def _fetch(self, ident: str) -> Sandbox | None:
        data = await self._xrpc.call("sandbox.getSandbox", {"id": ident})
        sandbox = Sandbox.from_json(data)
        if sandbox is not None:
            self._remember(sandbox)
        return sandbox

    # --- lifecycle ----------------------------------------------------------------------

    async def create(
        self,
        base: str,
        *,
        name: str | None = None,
        description: str | None = None,
        provider: str | None = None,
        topics: Sequence[str] | None = None,
        repo: str | None = None,
        vcpus: int | None = None,
        memory: int | None = None,
        disk: int | None = None,
        readme: str | None = None,
        keep_alive: bool | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> Sandbox:
        """Create a sandbox from ``base`` (a template name or ``at://`` URI).

        ``credentials`` holds a non-Cloudflare provider's settings in plaintext, keyed by the
        API's field names (``daytonaApiKey``, ``vercelProjectId``, ...); secret ones are sealed
        and sent with their redacted twin. The new sandbox is usually not running yet: see
        :meth:`wait_until_running`.
        """
        body: dict[str, Any] = drop_none(
            {
                "base": base,
                "name": name,
                "description": description,
                "provider": provider,
                "topics": list(topics) if topics is not None else None,
                "repo": repo,
                "vcpus": vcpus,
                "memory": memory,
                "disk": disk,
                "readme": readme,
                "keepAlive": keep_alive,
            }
        )
        body.update(self._credential_fields(credentials or {}))
        data = await self._xrpc.call("sandbox.createSandbox", body=body)
        sandbox = Sandbox.from_json(data)
        if sandbox is None:
            raise PocketenvError(
                502,
                "InvalidResponse",
                "the server created nothing it could describe (createSandbox returned no sandbox)",
                nsid="io.pocketenv.sandbox.createSandbox",
            )
        self._remember(sandbox)
        return sandbox

    def _credential_fields(self, credentials: Mapping[str, str]) -> dict[str, str]:
        fields: dict[str, str] = {}
        for key, value in credentials.items():
            if key in SEALED_CREDENTIALS:
                fields[key] = self._seal(value)
                fields[redacted_twin(key)] = redact(value)
            elif key in PLAIN_CREDENTIALS:
                fields[key] = value
            else:
                known = ", ".join(sorted(SEALED_CREDENTIALS | PLAIN_CREDENTIALS))
                raise ValueError(f"unknown provider credential {key!r}; known: {known}")
        return fields

    async def get(self, id_name_or_uri: str) -> Sandbox | None:
        """The sandbox, or None if there is no such sandbox."""
        ident = id_name_or_uri.strip()
        return await self._fetch(self._ids.get(ident, ident))

    async def catalog(self, limit: int = 30, offset: int = 0) -> SandboxPage:
        """One page of the public template catalogue (getSandboxes)."""
        data = await self._xrpc.call("sandbox.getSandboxes", {"limit": limit, "offset": offset})
        return SandboxPage.from_json(data)

    async def iter_catalog(self, page_size: int = 100) -> AsyncIterator[Sandbox]:
        async def fetch(limit: int, offset: int) -> tuple[list[Sandbox], int | None]:
            page = await self.catalog(limit, offset)
            return page.sandboxes, page.total

        async for sandbox in iterate_pages(fetch, page_size):
            yield sandbox

    async def start(
        self, id: str, *, repo: str | None = None, keep_alive: bool | None = None
    ) -> None:
        sandbox_id = await self.resolve_id(id)
        await self._xrpc.call(
            "sandbox.startSandbox",
            {"id": sandbox_id},
            drop_none({"repo": repo, "keepAlive": keep_alive}),
        )

    async def stop(self, id: str) -> None:
        await self._xrpc.call("sandbox.stopSandbox", {"id": await self.resolve_id(id)})

    async def delete(self, id: str) -> None:
        sandbox_id = await self.resolve_id(id)
        await self._xrpc.call("sandbox.deleteSandbox", {"id": sandbox_id})
        self._forget(sandbox_id)

    async def claim(self, id: str) -> Sandbox | None:
        """Take ownership of an anonymous sandbox."""
        data = await self._xrpc.call("sandbox.claimSandbox", {"id": await self.resolve_id(id)})
        sandbox = Sandbox.from_json(data)
        if sandbox is not None:
            self._remember(sandbox)
        return sandbox

    async def wait_until_running(
        self,
        id: str,
        timeout: float = 60.0,  # noqa: ASYNC109 - the SDKs' name; a polling budget, not a cancel scope
        interval: float = 2.0,
    ) -> Sandbox:
        """Poll getSandbox until the sandbox is RUNNING; raise on timeout or if it vanishes."""
        sandbox_id = await self.resolve_id(id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            sandbox = await self._fetch(sandbox_id)
            if sandbox is None:
                raise PocketenvError(
                    404, "SandboxNotFound", f"sandbox {id!r} disappeared while starting"
                )
            if (sandbox.status or "").upper() == STATUS_RUNNING:
                return sandbox
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PocketenvTimeoutError(
                    f"sandbox {sandbox.name!r} is still {sandbox.status or 'not running'} "
                    f"after {timeout:g} s"
                )
            await asyncio.sleep(min(interval, remaining))

    # --- exec ---------------------------------------------------------------------------

    async def exec(
        self,
        id: str,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - forwarded to the server's exec limit
    ) -> ExecResult:
        """Run one shell command in the sandbox and wait for its output.

        ``command`` is a shell string, or an argv list that is quoted into one. ``timeout``
        (seconds) is passed to the server, which the local backend honours; the HTTP wait is
        that plus a grace period, or the client's ``exec_timeout`` when no timeout is given.
        """
        sandbox_id = await self.resolve_id(id)
        line = command if isinstance(command, str) else shlex.join(command)
        body: dict[str, Any] = {"command": line}
        http_timeout = self.exec_timeout
        if timeout is not None:
            body["timeout"] = timeout
            http_timeout = timeout + EXEC_GRACE_SECONDS
        data = await self._xrpc.call("sandbox.exec", {"id": sandbox_id}, body, timeout=http_timeout)
        return ExecResult.from_json(data)

    async def exec_stream(
        self,
        id: str,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - forwarded to the server's exec limit
    ) -> AsyncIterator[ExecEvent]:
        """Run one shell command and yield its output while it runs (local-backend extension).

        Yields :class:`~pocketenv_tui.api.exec_stream.ExecOutput` pieces (stdout and stderr in
        the order the server read them), heartbeats, then one ``ExecFinished``. Stopping the
        iteration (or cancelling its task) kills the command. A server without the extension
        raises :class:`~pocketenv_tui.api.exec_stream.ExecStreamUnsupported` (remembered, so
        later calls raise it at once): use :meth:`exec` there.
        """
        if self.exec_stream_offered is False:
            raise ExecStreamUnsupported()
        sandbox_id = await self.resolve_id(id)
        line = command if isinstance(command, str) else shlex.join(command)
        body: dict[str, Any] = {"command": line}
        if timeout is not None:
            body["timeout"] = timeout
        try:
            async for event in stream_exec(self._xrpc, sandbox_id, body):
                self.exec_stream_offered = True
                yield event
        except ExecStreamUnsupported:
            self.exec_stream_offered = False
            raise

    # --- ports and VS Code --------------------------------------------------------------

    async def expose_port(self, id: str, port: int, description: str | None = None) -> str | None:
        """Expose a port (1025-65535); the preview URL when the provider gives one."""
        data = await self._xrpc.call(
            "sandbox.exposePort",
            {"id": await self.resolve_id(id)},
            drop_none({"port": port, "description": description}),
        )
        url = data.get("previewUrl") if isinstance(data, dict) else None
        return url if isinstance(url, str) and url else None

    async def unexpose_port(self, id: str, port: int) -> None:
        await self._xrpc.call(
            "sandbox.unexposePort", {"id": await self.resolve_id(id)}, {"port": port}
        )

    async def get_exposed_ports(self, id: str) -> list[Port]:
        data = await self._xrpc.call("sandbox.getExposedPorts", {"id": await self.resolve_id(id)})
        return [p for p in map(Port.from_json, items_of(data, "ports")) if p is not None]

    async def expose_vscode(self, id: str) -> str:
        """Expose VS Code Server (port 1024); its URL, ``""`` when the provider has none."""
        data = await self._xrpc.call("sandbox.exposeVscode", {"id": await self.resolve_id(id)})
        url = data.get("previewUrl") if isinstance(data, dict) else None
        return url if isinstance(url, str) else ""

    # --- preferences, SSH, Tailscale ----------------------------------------------------

    async def get_preferences(self, id: str) -> list[dict[str, Any]]:
        """The sandbox's preference items (a bare array on the hosted server)."""
        data = await self._xrpc.call("sandbox.getPreferences", {"id": await self.resolve_id(id)})
        return items_of(data, "preferences")

    async def put_preferences(
        self, sandbox_id: str, preferences: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace preferences; every item needs its ``$type`` (the server rejects it otherwise)."""
        for index, item in enumerate(preferences):
            if "$type" not in item:
                raise ValueError(f"preference {index} has no '$type'")
        await self._xrpc.call(
            "sandbox.putPreferences",
            body={
                "sandboxId": await self.resolve_id(sandbox_id),
                "preferences": [dict(item) for item in preferences],
            },
        )

    async def get_ssh_keys(self, id: str) -> SshKeys | None:
        try:
            data = await self._xrpc.call("sandbox.getSshKeys", {"id": await self.resolve_id(id)})
        except PocketenvError as exc:
            if exc.status == 404 and exc.error != "SandboxNotFound":
                return None  # "Not found": the sandbox has no key pair
            raise
        return SshKeys.from_json(data)

    async def put_ssh_keys(self, id: str, private_key: str, public_key: str) -> None:
        """Install a key pair: the private key sealed, a masked copy kept for display."""
        await self._xrpc.call(
            "sandbox.putSshKeys",
            body={
                "id": await self.resolve_id(id),
                "privateKey": self._seal(private_key),
                "publicKey": public_key,
                "redacted": redact_ssh_private_key(private_key),
            },
        )

    async def get_tailscale_auth_key(self, id: str) -> TailscaleKey | None:
        try:
            data = await self._xrpc.call(
                "sandbox.getTailscaleAuthKey", {"id": await self.resolve_id(id)}
            )
        except PocketenvError as exc:
            if exc.status == 404 and exc.error != "SandboxNotFound":
                return None
            raise
        return TailscaleKey.from_json(data)

    async def put_tailscale_auth_key(self, id: str, auth_key: str) -> None:
        await self._xrpc.call(
            "sandbox.putTailscaleAuthKey",
            body={
                "id": await self.resolve_id(id),
                "authKey": self._seal(auth_key),
                "redacted": redact_tailscale(auth_key),
            },
        )

    # --- integrations (stubs on the hosted server) --------------------------------------

    async def create_integration(self, id: str, name: str) -> Integration | None:
        data = await self._xrpc.call(
            "sandbox.createIntegration", body={"id": await self.resolve_id(id), "name": name}
        )
        return Integration.from_json(data)

    async def get_integrations(self, id: str) -> list[Integration]:
        data = await self._xrpc.call("sandbox.getIntegrations", {"id": await self.resolve_id(id)})
        found = (Integration.from_json(item) for item in items_of(data, "integrations"))
        return [item for item in found if item is not None]

    # --- directory copies through cp storage --------------------------------------------

    async def push_directory(self, sandbox_id: str, directory_path: str) -> str:
        """Pack a directory inside the sandbox into cp storage; the upload's uuid."""
        data = await self._xrpc.call(
            "sandbox.pushDirectory",
            body={"sandboxId": await self.resolve_id(sandbox_id), "directoryPath": directory_path},
        )
        uuid = data.get("uuid") if isinstance(data, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise PocketenvError(
                502,
                "InvalidResponse",
                "pushDirectory did not return an upload id",
                nsid="io.pocketenv.sandbox.pushDirectory",
            )
        return uuid

    async def pull_directory(self, sandbox_id: str, directory_path: str, uuid: str) -> None:
        """Unpack the cp-storage upload ``uuid`` into ``directory_path`` inside the sandbox."""
        await self._xrpc.call(
            "sandbox.pullDirectory",
            body={
                "sandboxId": await self.resolve_id(sandbox_id),
                "directoryPath": directory_path,
                "uuid": uuid,
            },
        )
