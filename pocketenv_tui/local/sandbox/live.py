"""Records changed while a sandbox runs, brought into it at once (or marked for its next start).

What a sandbox carries is read from the store at start (``SandboxSpec``). When its records
change while it runs, the backend builds a fresh spec and :func:`apply` brings the running
sandbox in line, as far as a running sandbox can be changed:

variables and secrets
    The agent's own environment stays what it was at start; the difference from the fresh
    records (new or changed values, names gone) becomes the channel's ``env_changes``, which
    every spawn carries. So every new exec, shell, service and tool sees the records as they
    are now; processes already running keep the environment they started with (as anywhere).
    A name removed that the runtime itself sets (``PATH``, ``HOME``...) gets the runtime's
    value back rather than disappearing.
files, SSH keys, the Tailscale key
    Written inside the sandbox by its own tool (``files.py``), as at start, when their content
    differs from what the server last placed there. A file that sits under a top-level
    directory the running sandbox does not have (its ``/`` is read-only; the directory is made
    at the next start) is not tried: it is *pending* and its record says it applies at the
    next start.
removed files
    A file record deleted (or moved to another path) while the sandbox runs removes the file
    the server placed, **if it is still exactly what was placed** (a regular file with the same
    content, checked inside the sandbox): a file the sandbox changed or replaced since is the
    sandbox's own and is left alone.
volumes
    Cannot be mounted into running namespaces. The volumes a sandbox was started with are
    kept here; a volume record that differs (new, other path, other read-only) is pending
    until the next start, which :class:`StartedWith` tells the record's view.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pocketenv_tui.local.sandbox import files
from pocketenv_tui.local.sandbox.agent_channel import AgentChannel, EnvChanges
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.specs import ENV_NAME, SandboxSpec

if TYPE_CHECKING:
    from pocketenv_tui.local.sandbox.box import Box

log = logging.getLogger("pocketenv_tui.local")

SANDBOX_MARKER = "POCKETENV_SANDBOX_ID"


@dataclass
class LiveState:
    """What the server knows of a running sandbox's content, to change it without a restart."""

    base_env: dict[str, str] = field(default_factory=dict)  # the runtime's own variables
    start_env: dict[str, str] = field(default_factory=dict)  # the records' variables at start
    current_env: dict[str, str] = field(default_factory=dict)  # the records' variables now
    placed: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (sha256, size)
    pending_files: set[str] = field(default_factory=set)
    started_volumes: dict[str, tuple[str, bool]] = field(default_factory=dict)  # id -> (path, read-only)
    # bwrap: the top-level names bound at start and the volumes' mount paths; a path under
    # neither cannot be made while the sandbox runs. None: every path can (isolation "none").
    top_level: frozenset[str] | None = None
    mount_paths: tuple[str, ...] = ()

    def reachable(self, path: str) -> bool:
        if self.top_level is None:
            return True
        if path.strip("/").split("/")[0] in self.top_level:
            return True
        return any(path == mount or path.startswith(mount + "/") for mount in self.mount_paths)


def usable_env(env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The records' variables that can be environment variables, and a warning per other one.
    The marker is the runtime's: a record cannot take it over."""
    usable: dict[str, str] = {}
    warnings: list[str] = []
    for name, value in env.items():
        if not ENV_NAME.match(name) or "\0" in value:
            warnings.append(f"variable {name!r} was skipped: not a valid environment variable")
        elif name != SANDBOX_MARKER:
            usable[name] = value
    return usable, warnings


def env_changes(state: LiveState) -> EnvChanges:
    """How new processes' environment must differ from the agent's (set at start)."""
    values = {k: v for k, v in state.current_env.items() if state.start_env.get(k) != v}
    unset: set[str] = set()
    for name in state.start_env.keys() - state.current_env.keys():
        if name in state.base_env:
            values[name] = state.base_env[name]  # the runtime's own value comes back
        else:
            unset.add(name)
    return EnvChanges(values, frozenset(unset))


async def place_at_start(box: Box, channel: AgentChannel) -> list[str]:
    """Before anything runs in a sandbox that just booted: its records' variables named like
    the runtime's own (kept out of the agent's environment) become changes of every spawn,
    and the records' files and keys are written; warnings."""
    channel.env_changes = env_changes(box.live)
    placements, warnings = files.spec_placements(box, box.spec)
    written, failures = await files.write_placements(box, channel, list(placements.values()))
    box.live.placed = {path: placements[path].stamp for path in written}
    return warnings + failures


async def apply(box: Box, channel: AgentChannel, spec: SandboxSpec) -> list[str]:
    """Bring the running sandbox in line with ``spec`` (its records now); warnings."""
    state = box.live
    state.current_env, warnings = usable_env(spec.env)
    channel.env_changes = env_changes(state)

    placements, problems = files.spec_placements(box, spec)
    warnings += problems
    state.pending_files = {path for path in placements if not state.reachable(path)}
    changed = [
        placement for path, placement in placements.items()
        if path not in state.pending_files and state.placed.get(path) != placement.stamp
    ]
    written, failures = await files.write_placements(box, channel, changed)
    warnings += failures
    for path in written:
        state.placed[path] = placements[path].stamp

    gone = {path: stamp for path, stamp in state.placed.items() if path not in placements}
    if gone:
        for path in await files.remove_placed(box, channel, gone):
            log.info("sandbox %s: %s was changed in the sandbox and is left in place", box.spec.id, path)
        for path in gone:
            state.placed.pop(path, None)
    return warnings


class StartedWith:
    """A running sandbox's start, for its records' views: which of them wait for the next."""

    def __init__(self, box: Box) -> None:
        self._box = box

    def file_pending(self, path: str) -> bool:
        """Whether a file record cannot be placed before the next start."""
        try:
            return self._box.normalize(path) in self._box.live.pending_files
        except SandboxRuntimeError:
            return False

    def volume_pending(self, volume_id: str, path: str | None, read_only: bool) -> bool:
        """Whether a volume record differs from what the sandbox mounted at start."""
        try:
            wanted = (self._box.normalize(path), read_only) if path else None
        except SandboxRuntimeError:
            return False  # never mounted, now or at the next start
        return self._box.live.started_volumes.get(volume_id) != wanted
