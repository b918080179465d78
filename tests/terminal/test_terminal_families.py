"""Every terminal family (cf, pty, tty, ssh) end to end: TerminalSession against the real local backend.

Each sandbox is created with a provider whose family is under test, and opened the way the
app opens it: provider → ``terminal_dialect`` → ``client.terminal_url`` (or, for ssh,
``client.ssh_opener``) → :class:`TerminalSession`. Dropped connections are real: the session
talks through a TCP hop (``TcpProxy``) that the test cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.terminal_url import ssh_websocket_url
from pocketenv_tui.app.app import terminal_dialect
from pocketenv_tui.terminal.dialects import ReplayTrimmer, replay_overlap
from pocketenv_tui.terminal.session import SessionState, SessionStatus, TerminalSession
from tests.terminal.conftest import TcpProxy, create_running_sandbox, delete_sandbox
from tests.terminal.test_session import Recorder

pytestmark = pytest.mark.timeout(180)

# One provider per family, each a provider the hosted API routes that way.
PROVIDER_OF_FAMILY = {"cf": "cloudflare", "pty": "vercel", "tty": "sprites", "ssh": "daytona"}
FAMILIES = list(PROVIDER_OF_FAMILY)
ROUTE_OF_FAMILY = {
    "cf": r"^/v1/sandboxes/[^/]+/ws/terminal$",
    "pty": r"^/pty/[^/]+/ws$",
    "tty": r"^/tty/[^/]+/ws$",
    "ssh": r"^/ssh/[0-9a-f-]{36}/ws$",
}


@pytest.fixture(scope="module")
def family_sandboxes(local_backend) -> Iterator[dict[str, str]]:
    """A running sandbox per family, recorded with that family's provider."""
    made: dict[str, str] = {}
    try:
        for family, provider in PROVIDER_OF_FAMILY.items():
            made[family] = create_running_sandbox(local_backend, provider, name=f"fam-{family}")
        yield made
    finally:
        for sandbox_id in made.values():
            delete_sandbox(local_backend, sandbox_id)


@contextlib.asynccontextmanager
async def api_client(backend, api_url: str | None = None) -> AsyncIterator[PocketenvClient]:
    client = PocketenvClient(
        api_url=api_url or backend.url, token=backend.token, public_key=backend.public_key,
        storage_url=api_url or backend.url,
    )
    try:
        yield client
    finally:
        await client.aclose()


class Shell(Recorder):
    """One TerminalSession and everything it reported, with awaitable conditions."""

    def __init__(self) -> None:
        super().__init__()
        self.session: TerminalSession | None = None
        self.task: asyncio.Task[SessionStatus] | None = None

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    async def until(self, predicate: Callable[[], object], what: str, within: float = 30.0):  # type: ignore[override]
        async def wait():
            while not (value := predicate()):
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)
            return value

        try:
            return await asyncio.wait_for(wait(), within)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; output:\n{self.text[-2000:]}") from None

    async def run(self, command: str, expect: str) -> re.Match[str]:
        """Type ``command`` and wait for ``expect`` (a regex) in the output that follows."""
        assert self.session is not None
        start = len(self.output)
        self.session.send_input(command.encode() + b"\n")
        return await self.until(
            lambda: re.search(expect, self.output[start:].decode("utf-8", "replace")), repr(expect)
        )

    async def final(self) -> SessionStatus:
        assert self.task is not None
        return await asyncio.wait_for(asyncio.shield(self.task), 30)


def open_session(client: PocketenvClient, sandbox: Sandbox, shell: Shell, **options) -> TerminalSession:
    """What the shell screen does: the family from the provider, then its URL or opener."""
    family = terminal_dialect(sandbox)
    options.setdefault("backoff_base", 0.05)
    if family == "ssh":
        return TerminalSession(
            None, "ssh", opener=client.ssh_opener(sandbox.id),
            on_output=shell.on_output, on_status=shell.on_status, **options,
        )
    url = client.terminal_url(sandbox.id, dialect=family, session=f"t-{uuid.uuid4().hex}")  # type: ignore[arg-type]
    return TerminalSession(url, family, on_output=shell.on_output, on_status=shell.on_status, **options)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def family_shell(client: PocketenvClient, sandbox_id: str, **options) -> AsyncIterator[Shell]:
    sandbox = await client.sandboxes.get(sandbox_id)
    shell = Shell()
    shell.session = open_session(client, sandbox, shell, **options)
    shell.task = shell.session.start()
    try:
        yield shell
    finally:
        await shell.session.close()


@pytest.mark.parametrize("family", FAMILIES)
async def test_the_provider_picks_the_family_its_route_and_the_shell_echoes(
    local_backend, family_sandboxes, family: str
) -> None:
    async with api_client(local_backend) as client:
        sandbox = await client.sandboxes.get(family_sandboxes[family])
        assert sandbox.provider == PROVIDER_OF_FAMILY[family]
        assert terminal_dialect(sandbox) == family
        async with family_shell(client, sandbox.id) as shell:
            await shell.run("echo hi-$((6*7))", r"hi-42")
            assert shell.session is not None
            assert re.match(ROUTE_OF_FAMILY[family], urlsplit(shell.session.url).path), shell.session.url
            assert shell.session.dialect == family
            shell.session.send_input(b"exit 0\n")
            final = await shell.final()
        assert final.state is SessionState.EXITED, final


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_resize_reaches_the_shell(local_backend, family_sandboxes, family: str) -> None:
    async with api_client(local_backend) as client:
        async with family_shell(client, family_sandboxes[family], size=(80, 24)) as shell:
            await shell.run("stty size", r"\b24 80\b")
            assert shell.session is not None
            shell.session.resize(101, 33)
            await shell.run("stty size", r"\b33 101\b")
            shell.session.send_input(b"exit\n")
            assert (await shell.final()).state is SessionState.EXITED


@pytest.mark.parametrize("family", FAMILIES)
async def test_exit_code_or_the_end_of_the_shell_is_reported(local_backend, family_sandboxes, family: str) -> None:
    async with api_client(local_backend) as client:
        async with family_shell(client, family_sandboxes[family]) as shell:
            await shell.run("echo up-$((2+2))", r"up-4")
            assert shell.session is not None
            shell.session.send_input(b"exit 3\n")
            final = await shell.final()
    assert final.state is SessionState.EXITED, final
    if family == "cf":
        assert final.exit_code == 3  # only the cf dialect carries the code
    else:
        # pty and tty close with 1000 "exit", ssh with 1000 "closed": the shell ended.
        assert final.close_code == 1000 and final.message == "Process exited"


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_dropped_connection_reconnects_to_the_same_shell(
    local_backend, family_sandboxes, tcp_proxy: TcpProxy, family: str
) -> None:
    async with api_client(local_backend, tcp_proxy.url) as client:
        async with family_shell(client, family_sandboxes[family]) as shell:
            session = shell.session
            assert session is not None
            pid = (await shell.run('KEPT=kept-$((1+1)); echo "pid=$$"', r"pid=(\d+)")).group(1)
            await shell.run("echo once-$((5*5))", r"once-25")
            assert tcp_proxy.drop() >= 1
            await shell.until(lambda: session.connections >= 2, "a second connection")
            assert any(s.state is SessionState.RECONNECTING for s in shell.statuses)
            session.resize(90, 20)  # sent on the new socket
            await shell.run('echo "again=$KEPT:$$"; stty size', rf"again=kept-2:{pid}\s+20 90\b")
            # A replaying family (cf, ssh) shows nothing twice after the reconnect.
            assert shell.text.count("once-25") == 1, shell.text
            session.send_input(b"exit\n")
            assert (await shell.final()).state is SessionState.EXITED


async def test_keys_typed_while_the_link_is_down_arrive_after_the_reconnect(
    local_backend, family_sandboxes, tcp_proxy: TcpProxy
) -> None:
    async with api_client(local_backend, tcp_proxy.url) as client:
        async with family_shell(client, family_sandboxes["ssh"], backoff_base=0.5) as shell:
            session = shell.session
            assert session is not None
            await shell.run("echo ready-$((3*3))", r"ready-9")
            tcp_proxy.drop()
            await shell.until(
                lambda: shell.statuses[-1].state is SessionState.RECONNECTING, "the drop to be seen"
            )
            session.send_input(b"echo typed-$((4*4))\n")
            await shell.until(lambda: "typed-16" in shell.text, "the typed command's output")
            assert session.connections == 2 and session.pending_input == 0


async def test_an_ssh_session_the_server_does_not_know_is_replaced_once_with_a_note(
    local_backend, family_sandboxes
) -> None:
    made: list[tuple[str, bool]] = []
    async with api_client(local_backend) as client:
        shell = Shell()
        stale = str(uuid.uuid4())
        opener = client.ssh_opener(
            family_sandboxes["ssh"], session_id=stale, on_session=lambda sid, replaces: made.append((sid, replaces))
        )
        shell.session = TerminalSession(
            None, "ssh", opener=opener, on_output=shell.on_output, on_status=shell.on_status, backoff_base=0.05
        )
        shell.task = shell.session.start()
        try:
            await shell.run("echo fresh-$((8*8))", r"fresh-64")
        finally:
            await shell.session.close()
    assert len(made) == 1 and made[0][1] is True and made[0][0] != stale
    assert opener.session_id == made[0][0]
    assert shell.session.renewals == 1
    notes = [s for s in shell.statuses if "no longer knew" in s.message]
    assert notes and not any(s.state is SessionState.FAILED for s in shell.statuses)


async def test_a_fixed_ssh_url_of_an_unknown_session_fails_without_retrying(local_backend) -> None:
    shell = Shell()
    url = ssh_websocket_url(local_backend.url, str(uuid.uuid4()), local_backend.token)
    session = TerminalSession(url, "ssh", on_output=shell.on_output, on_status=shell.on_status, backoff_base=0.05)
    final = await asyncio.wait_for(session.run(), 30)
    assert final.state is SessionState.FAILED
    assert final.close_code == 1011 and "Session not found" in final.message
    assert session.connections == 1


async def test_reopening_an_ssh_session_by_its_id_replays_its_output(local_backend, family_sandboxes) -> None:
    async with api_client(local_backend) as client:
        async with family_shell(client, family_sandboxes["ssh"]) as first:
            await first.run("echo mark-$((7*7))", r"mark-49")
            assert first.session is not None
            session_id = first.session.url.split("/ssh/")[1].split("/")[0]
        # The first client is gone; a new one with the same id gets the shell and its past.
        second = Shell()
        opener = client.ssh_opener(family_sandboxes["ssh"], session_id=session_id)
        second.session = TerminalSession(
            None, "ssh", opener=opener, on_output=second.on_output, on_status=second.on_status
        )
        second.task = second.session.start()
        try:
            await second.until(lambda: "mark-49" in second.text, "the replayed mark")
            second.session.send_input(b"exit\n")
            assert (await second.final()).state is SessionState.EXITED
        finally:
            await second.session.close()
        assert opener.session_id == session_id  # re-attached, no new session made
        assert await client.ssh_sessions().disconnect(session_id) is False  # over with the shell


@given(
    seen=st.binary(max_size=300),
    cut=st.integers(min_value=0, max_value=300),
    fresh=st.binary(max_size=100),
    pieces=st.lists(st.integers(min_value=1, max_value=64), max_size=20),
)
def test_the_ssh_replay_trimmer_shows_exactly_what_a_whole_replay_would(
    seen: bytes, cut: int, fresh: bytes, pieces: list[int]
) -> None:
    # The server replays a tail of what we saw plus what came while we were away, in frames
    # of any size; trimming as it streams must show what trimming the whole replay shows.
    replay = seen[min(cut, len(seen)) :] + fresh
    trimmer = ReplayTrimmer(seen)
    shown, at = b"", 0
    for size in pieces:
        shown += trimmer.feed(replay[at : at + size])
        at += size
    shown += trimmer.feed(replay[at:]) + trimmer.flush()
    assert shown == replay[replay_overlap(seen, replay) :]
