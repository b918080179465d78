"""Sandbox content in and out, done inside the sandbox by ``inside/pocketenv_tools.py``.

The server never opens a path in a sandbox. Writing the file records and keys (at start, and
into a running sandbox when they change), removing a file it placed, packing a directory for a backup or a copy, and unpacking an archive into one are all run
by the agent as commands of the sandbox, with the sandbox's uid, namespaces and seccomp
filter. The server only moves bytes: from a file of its own into the tool's stdin, or from
the tool's stdout into a file of its own (capped in size; the tool's output is the
sandbox's). Both directions stream through the event loop in 64 KiB steps, so memory stays
flat whatever the size.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox.agent_channel import AgentChannel
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.exec import kill, spawn_piped
from pocketenv_tui.local.sandbox.proc import BoundedBuffer

if TYPE_CHECKING:
    from pocketenv_tui.local.sandbox.box import Box
    from pocketenv_tui.local.sandbox.specs import SandboxSpec

SSH_DIR = iso.HOME_INSIDE + "/.ssh"
# Where the local backend puts a sandbox's Tailscale auth key (there is no tailscaled to hand
# it to): ``tailscale up --auth-key=file:$HOME/.tailscale/authkey`` reads it from there.
TAILSCALE_KEY = iso.HOME_INSIDE + "/.tailscale/authkey"
CHUNK = 64 * 1024
TOOL_TIMEOUT = 900.0
EOF_AFTER_EXIT = 2.0


@dataclass
class ToolResult:
    exit_code: int
    stdout: str
    stderr: str

    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit code {self.exit_code}"


class FileSink:
    """Writes what a pipe brings into a file, up to ``limit`` bytes."""

    def __init__(self, path: Path, limit: int) -> None:
        self.handle = open(path, "wb")  # noqa: SIM115 - closed by the caller via close()
        self.limit = limit
        self.size = 0
        self.overflowed = False

    def write(self, chunk: bytes) -> None:
        if self.overflowed:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.overflowed = True
            return
        self.handle.write(chunk)

    def close(self) -> None:
        self.handle.close()


async def _feed(fd: int, source: bytes | Path) -> None:
    """Write ``source`` into the non-blocking pipe ``fd``, then close it."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    # Local files of the server: reading 64 KiB at a time does not hold up the loop.
    handle = open(source, "rb") if isinstance(source, Path) else None  # noqa: SIM115, ASYNC230
    data = memoryview(source) if isinstance(source, bytes) else memoryview(b"")
    try:
        while True:
            if not data and handle is not None:
                data = memoryview(handle.read(CHUNK))
            if not data:
                return
            try:
                written = os.write(fd, data)
                data = data[written:]
            except BlockingIOError:
                writable = loop.create_future()
                loop.add_writer(fd, lambda f=writable: f.done() or f.set_result(None))
                try:
                    await writable
                finally:
                    loop.remove_writer(fd)
            except (BrokenPipeError, OSError):
                return  # the tool stopped reading; its exit code says why
    finally:
        if handle is not None:
            handle.close()
        with contextlib.suppress(OSError):
            os.close(fd)


async def run_tool(
    channel: AgentChannel,
    argv: list[str],
    *,
    stdin: bytes | Path | None = None,
    stdout_to: Path | None = None,
    stdout_limit: int = 1024 * 1024,
    time_limit: float = TOOL_TIMEOUT,
) -> ToolResult:
    """Run a tool in the sandbox, feeding ``stdin`` and saving its stdout to ``stdout_to``."""
    sink: FileSink | BoundedBuffer = FileSink(stdout_to, stdout_limit) if stdout_to else BoundedBuffer(stdout_limit)
    errors = BoundedBuffer(16 * 1024)
    try:
        proc, readers, in_w = await spawn_piped(channel, argv, sink, errors, with_stdin=stdin is not None)
    except BaseException:
        if isinstance(sink, FileSink):
            sink.close()
        raise
    feeder = asyncio.ensure_future(_feed(in_w, stdin)) if in_w is not None and stdin is not None else None
    try:
        code = await proc.wait_within(time_limit)
        if code is None:
            await kill(proc)
            raise SandboxRuntimeError(f"the operation took longer than {time_limit:g} s and was stopped")
        # A tool that exited has written all it will; anything still holding its pipes is
        # not the tool, and is not waited for long.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(r.eof.wait() for r in readers)), EOF_AFTER_EXIT)
    finally:
        for reader in readers:
            reader.close()
        if feeder is not None:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
        if isinstance(sink, FileSink):
            sink.close()
    if isinstance(sink, FileSink) and sink.overflowed:
        raise SandboxRuntimeError(f"the sandbox sent more than {stdout_limit} bytes; the copy was refused")
    stdout = sink.text() if isinstance(sink, BoundedBuffer) else ""
    return ToolResult(code, stdout, errors.text())


@dataclass(frozen=True)
class Placement:
    """One file the server puts into a sandbox: a file record, an SSH key, the Tailscale key."""

    path: str  # absolute, normalized, inside the sandbox
    data: bytes
    mode: int
    dir_mode: int | None = None  # the mode its directory is given, or None to leave it

    @property
    def stamp(self) -> tuple[str, int]:
        """(sha256, size): how a file placed earlier is recognised as still ours."""
        return hashlib.sha256(self.data).hexdigest(), len(self.data)


def printable(text: str, limit: int = 200) -> str:
    """Text from inside a sandbox made fit for a warning: no control characters, bounded."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


def files_payload(files: list[tuple[str, bytes, int, int | None]]) -> bytes:
    """The ``write-files`` input: (path, content, mode, mode of its directory or None)."""
    return json.dumps([
        {"path": path, "data": base64.b64encode(data).decode("ascii"), "mode": mode, "dir_mode": dir_mode}
        for path, data, mode, dir_mode in files
    ]).encode()


def _reported_lines(result: ToolResult) -> list[dict[str, object]]:
    items = []
    for line in result.stdout.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict):
                items.append(item)
    return items


def write_failures(result: ToolResult) -> list[str]:
    """One warning per file ``write-files`` could not write."""
    warnings = [
        f"file {printable(str(item.get('path')))} was not written: {printable(str(item.get('error')))}"
        for item in _reported_lines(result)
    ]
    if result.exit_code != 0:
        warnings.append(f"files were not written: {printable(result.error())}")
    return warnings


def spec_placements(box: Box, spec: SandboxSpec) -> tuple[dict[str, Placement], list[str]]:
    """Every file the sandbox's records put into it, by path (later ones win), and a warning
    per record whose path cannot be one inside the sandbox."""
    placements: dict[str, Placement] = {}
    warnings: list[str] = []
    for path, data in spec.files:
        try:
            inside = box.normalize(path)
        except SandboxRuntimeError as exc:
            warnings.append(f"file {printable(path)} was not written: {exc}")
            continue
        placements[inside] = Placement(inside, data, 0o644)
    if spec.ssh_private_key:
        key = SSH_DIR + "/id_ed25519"
        placements[key] = Placement(key, (spec.ssh_private_key.rstrip("\n") + "\n").encode(), 0o600, 0o700)
        if spec.ssh_public_key:
            pub = key + ".pub"
            placements[pub] = Placement(pub, (spec.ssh_public_key.rstrip("\n") + "\n").encode(), 0o644, 0o700)
    if spec.tailscale_auth_key:
        placements[TAILSCALE_KEY] = Placement(
            TAILSCALE_KEY, (spec.tailscale_auth_key.strip() + "\n").encode(), 0o600, 0o700
        )
    return placements, warnings


async def write_placements(box: Box, channel: AgentChannel, placements: list[Placement]) -> tuple[set[str], list[str]]:
    """Write ``placements`` inside the sandbox: (the paths written, a warning per failure)."""
    if not placements:
        return set(), []
    entries = [(p.path, p.data, p.mode, p.dir_mode) for p in placements]
    result = await run_tool(channel, box.tools_argv("write-files"), stdin=files_payload(entries))
    if result.exit_code != 0:
        return set(), write_failures(result)
    failed = {str(item.get("path")) for item in _reported_lines(result)}
    return {p.path for p in placements if p.path not in failed}, write_failures(result)


async def remove_placed(box: Box, channel: AgentChannel, placed: dict[str, tuple[str, int]]) -> list[str]:
    """Remove files placed earlier that are still as placed; returns the paths left alone
    (changed, replaced or unreadable in the sandbox: no longer the server's to remove)."""
    if not placed:
        return []
    payload = json.dumps([{"path": path, "sha256": digest, "size": size} for path, (digest, size) in placed.items()])
    result = await run_tool(channel, box.tools_argv("remove-files"), stdin=payload.encode())
    return [printable(str(item.get("path"))) for item in _reported_lines(result)]


async def pack(box: Box, channel: AgentChannel, directory: str, target: Path) -> None:
    inside = box.normalize(directory)
    # The archive is the sandbox's output: at most about its disk, whatever it claims.
    limit = box.limits.disk_bytes + box.limits.disk_bytes // 8 + 16 * 1024 * 1024
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        result = await run_tool(channel, box.tools_argv("pack", inside), stdout_to=partial, stdout_limit=limit)
        if result.exit_code != 0:
            raise SandboxRuntimeError(result.error())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


async def unpack(box: Box, channel: AgentChannel, archive: Path, directory: str, *, replace: bool) -> None:
    args = ["unpack", box.normalize(directory)] + (["--replace"] if replace else [])
    result = await run_tool(channel, box.tools_argv(*args), stdin=archive)
    if result.exit_code != 0:
        raise SandboxRuntimeError(result.error())


async def is_directory(box: Box, channel: AgentChannel, path: str) -> bool:
    result = await run_tool(channel, box.tools_argv("is-dir", box.normalize(path)), time_limit=30)
    return result.exit_code == 0
