"""What the runtime is asked to start: a sandbox and its services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pocketenv_tui.local.sandbox.limits import Limits
from pocketenv_tui.local.sandbox.services import ServiceSpec

__all__ = ["ENV_NAME", "SandboxSpec", "ServiceSpec"]

# What can be an environment variable's name in a sandbox (records are checked against it
# when added; the runtime skips any other at start).
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SandboxSpec:
    id: str
    name: str  # hostname inside the sandbox
    env: dict[str, str]  # variables + opened secrets, already merged (secret wins)
    files: list[tuple[str, bytes]]  # (path inside the sandbox, content) written on start
    ssh_private_key: str | None = None  # installed as ~/.ssh/id_ed25519 (0600) + .pub
    ssh_public_key: str | None = None
    tailscale_auth_key: str | None = None  # installed as ~/.tailscale/authkey (0600)
    volumes: list[tuple[str, str, bool]] = field(default_factory=list)  # (volume id, mount path, read_only)
    services: list[ServiceSpec] = field(default_factory=list)  # started after the rest
    repo: str | None = None  # git clone into the home when reachable
    limits: Limits | None = None  # None: the runtime's defaults
    host_uid: int | None = None  # the sandbox's own host uid (root server); None: the runtime picks one
