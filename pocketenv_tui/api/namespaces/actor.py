"""``io.pocketenv.actor.*``: the caller's profile, their sandboxes, the terminal token."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pocketenv_tui.api.errors import PocketenvError
from pocketenv_tui.api.models import Profile, Sandbox, SandboxPage
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.pagination import iterate_pages
from pocketenv_tui.api.tokens import did_from_token


class ActorNamespace(Namespace):
    _own_did: str | None = None

    async def get_profile(self, did: str | None = None) -> Profile | None:
        """The profile of ``did`` (a DID or handle), or the caller's; None if the server has none."""
        data = await self._xrpc.call("actor.getProfile", {"did": did})
        profile = Profile.from_json(data)
        if did is None and profile is not None:
            self._own_did = profile.did
        return profile

    async def own_did(self) -> str:
        """The caller's DID: the token's ``did`` claim, else asked once from getProfile."""
        if self._own_did is None:
            self._own_did = did_from_token(self._config.token)
        if self._own_did is None:
            profile = await self.get_profile()
            if profile is None:
                raise PocketenvError(
                    401,
                    "AuthenticationRequired",
                    "the server could not tell who this token belongs to (getProfile answered "
                    "nothing); log in again or check the token",
                    nsid="io.pocketenv.actor.getProfile",
                )
            self._own_did = profile.did
        return self._own_did

    async def get_sandboxes(
        self,
        did: str | None = None,
        limit: int = 30,
        offset: int = 0,
        is_running: bool | None = None,
    ) -> SandboxPage:
        """One page of a user's sandboxes, newest first; ``did=None`` means the caller's."""
        owner = did or await self.own_did()
        data = await self._xrpc.call(
            "actor.getActorSandboxes",
            {"did": owner, "limit": limit, "offset": offset, "isRunning": is_running},
        )
        return SandboxPage.from_json(data)

    async def iter_sandboxes(
        self, did: str | None = None, page_size: int = 100, is_running: bool | None = None
    ) -> AsyncIterator[Sandbox]:
        """Every sandbox of the user, fetching ``page_size`` at a time."""
        owner = did or await self.own_did()

        async def fetch(limit: int, offset: int) -> tuple[list[Sandbox], int | None]:
            page = await self.get_sandboxes(owner, limit, offset, is_running)
            return page.sandboxes, page.total

        async for sandbox in iterate_pages(fetch, page_size):
            yield sandbox

    async def get_terminal_token(self) -> str:
        """The token for the Cloudflare terminal WebSocket (``?t=``)."""
        data = await self._xrpc.call("actor.getTerminalToken")
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise PocketenvError(
                502,
                "InvalidResponse",
                "the server did not return a terminal token",
                nsid="io.pocketenv.actor.getTerminalToken",
            )
        return token
