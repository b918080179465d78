"""``PocketenvClient``: the async Pocketenv API client, one namespace per XRPC namespace.

::

    async with PocketenvClient() as client:          # token etc. from resolve_config()
        for sandbox in (await client.actor.get_sandboxes()).sandboxes:
            print(sandbox.name, sandbox.status)
        result = await client.sandboxes.exec("my-sandbox", "uname -a")
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType

import httpx

from pocketenv_tui.api.archive import pack_path, unpack_into
from pocketenv_tui.api.config import ClientConfig, resolve_config
from pocketenv_tui.api.namespaces.actor import ActorNamespace
from pocketenv_tui.api.namespaces.backups import BackupsNamespace
from pocketenv_tui.api.namespaces.files import FilesNamespace
from pocketenv_tui.api.namespaces.monitoring import MonitoringNamespace
from pocketenv_tui.api.namespaces.sandboxes import SandboxesNamespace
from pocketenv_tui.api.namespaces.secrets import SecretsNamespace
from pocketenv_tui.api.namespaces.services import ServicesNamespace
from pocketenv_tui.api.namespaces.shells import ShellsNamespace
from pocketenv_tui.api.namespaces.storage import StorageNamespace
from pocketenv_tui.api.namespaces.variables import VariablesNamespace
from pocketenv_tui.api.namespaces.volumes import VolumesNamespace
from pocketenv_tui.api.ssh_sessions import SessionCallback, SshOpener, SshSessions
from pocketenv_tui.api.terminal_url import Family, build_terminal_url
from pocketenv_tui.api.xrpc import XrpcTransport

DEFAULT_TIMEOUT = 30.0
DEFAULT_EXEC_TIMEOUT = 300.0


class PocketenvClient:
    """An async client for one Pocketenv API (hosted or the local backend).

    Unset arguments are filled by :func:`~pocketenv_tui.api.config.resolve_config`
    (environment, then ``~/.pocketenv/token.json``, then the hosted defaults). ``timeout``
    bounds every call; ``exec`` waits up to ``exec_timeout`` instead. ``transport`` replaces
    httpx's network transport (tests pass an ``httpx.MockTransport``).
    """

    def __init__(
        self,
        api_url: str | None = None,
        token: str | None = None,
        public_key: str | None = None,
        *,
        storage_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        exec_timeout: float = DEFAULT_EXEC_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        require_token: bool = True,
        config: ClientConfig | None = None,
    ) -> None:
        self.config = config or resolve_config(
            token, api_url, public_key, storage_url, require_token=require_token
        )
        urls = (self.config.api_url, self.config.storage_url or self.config.api_url)
        self._xrpc = XrpcTransport(
            self.config.api_url,
            self.config.token,
            timeout=timeout,
            transport=transport,
            plain_http_only=all(url.startswith("http://") for url in urls),
        )
        self.sandboxes = SandboxesNamespace(self._xrpc, self.config, exec_timeout=exec_timeout)
        resolve = self.sandboxes.resolve_id
        self.actor = ActorNamespace(self._xrpc, self.config, resolve)
        self.backups = BackupsNamespace(self._xrpc, self.config, resolve)
        self.storage = StorageNamespace(self._xrpc, self.config, resolve)
        self.secrets = SecretsNamespace(self._xrpc, self.config, resolve)
        self.variables = VariablesNamespace(self._xrpc, self.config, resolve)
        self.files = FilesNamespace(self._xrpc, self.config, resolve)
        self.volumes = VolumesNamespace(self._xrpc, self.config, resolve)
        self.services = ServicesNamespace(self._xrpc, self.config, resolve)
        self.shells = ShellsNamespace(self._xrpc, self.config, resolve)
        self.monitoring = MonitoringNamespace(self._xrpc, self.config, resolve)

    @property
    def timeout(self) -> float:
        return self._xrpc.timeout

    @property
    def exec_timeout(self) -> float:
        return self.sandboxes.exec_timeout

    @property
    def closed(self) -> bool:
        return self._xrpc.closed

    async def aclose(self) -> None:
        await self._xrpc.aclose()

    async def __aenter__(self) -> PocketenvClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def copy_to_sandbox(
        self, sandbox_id: str, local_path: Path | str, remote_directory: str
    ) -> str:
        """Copy a local file or directory's contents into the sandbox; the upload's uuid.

        The way the official CLI does it: pack locally, upload to cp storage, then have the
        sandbox pull the archive into ``remote_directory``.
        """
        archive = await asyncio.to_thread(pack_path, local_path)
        upload_id = await self.storage.upload(archive)
        await self.sandboxes.pull_directory(sandbox_id, remote_directory, upload_id)
        return upload_id

    async def copy_from_sandbox(
        self, sandbox_id: str, remote_directory: str, local_directory: Path | str
    ) -> list[str]:
        """Copy a directory out of the sandbox into ``local_directory``; the names written."""
        upload_id = await self.sandboxes.push_directory(sandbox_id, remote_directory)
        archive = await self.storage.download(upload_id)
        return await asyncio.to_thread(unpack_into, archive, local_directory)

    def terminal_url(
        self,
        sandbox_id: str,
        *,
        dialect: Family = "cf",
        session: str | None = None,
        token: str | None = None,
        base_sandbox: str | None = None,
    ) -> str:
        """The WebSocket URL of a sandbox's terminal, with the token in the query.

        ``dialect`` is the sandbox's family (``terminal_family(sandbox.provider)``); the roots
        come from the config (``cf_url``, ``pty_url``, ``tty_url``). ``token`` defaults to the
        client's token (what the local backend and the API's /pty, /tty and /ssh routes take);
        the hosted Cloudflare worker wants ``actor.get_terminal_token()`` instead, and
        ``base_sandbox`` (the template) to pick its host. For ssh, ``session`` must be a
        session id from ``POST /ssh/connect``: :meth:`ssh_opener` makes and keeps one.
        """
        return build_terminal_url(
            self.config.api_url,
            sandbox_id,
            token if token is not None else self.config.token,
            dialect=dialect,
            session=session,
            base_sandbox=base_sandbox,
            cf_url=self.config.cf_url,
            pty_url=self.config.pty_url or None,
            tty_url=self.config.tty_url or None,
        )

    def ssh_sessions(self) -> SshSessions:
        """The ssh family's HTTP calls (connect, disconnect) on this client's API and token."""
        return SshSessions(self._xrpc.http, self.config.api_url, self.config.token)

    def ssh_opener(
        self,
        sandbox_id: str,
        *,
        session_id: str | None = None,
        on_session: SessionCallback | None = None,
    ) -> SshOpener:
        """An opener for a terminal session of the sandbox's ssh shell (``api/ssh_sessions``)."""
        return SshOpener(
            self.ssh_sessions(), sandbox_id, session_id=session_id, on_session=on_session
        )

    def __repr__(self) -> str:
        return f"PocketenvClient({self.config.api_url!r})"
