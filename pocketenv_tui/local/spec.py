"""Build the runtime's :class:`SandboxSpec` from what the store holds for one sandbox.

This is the one place where sealed values are opened: secrets, file contents, the SSH
private key and the Tailscale auth key are unsealed with the server's private key only to be
handed to the runtime, which injects them into the sandbox (at start, and into a running one
when its records change). Nothing opened here is stored or logged.
"""

from __future__ import annotations

from pocketenv_tui.local.sandbox.limits import Limits
from pocketenv_tui.local.sandbox.runtime import (
    HOST_UID_BASE,
    HOST_UID_COUNT,
    SandboxSpec,
    ServiceSpec,
)
from pocketenv_tui.local.state.identity import Identity
from pocketenv_tui.local.state.store import Store


def build_spec(store: Store, identity: Identity, defaults: Limits, sandbox_id: str) -> SandboxSpec:
    """Runs on the store's thread (it reads several tables as one consistent snapshot)."""
    row = store.get_sandbox(sandbox_id)
    if row is None:
        raise LookupError(f"sandbox {sandbox_id} no longer exists")

    env: dict[str, str] = {}
    for var in store.sandbox_resources("variables", sandbox_id):
        env[var["name"]] = var["value"]
    # Secrets go in last so that a secret beats a variable of the same name.
    for secret in store.sandbox_resources("secrets", sandbox_id):
        env[secret["name"]] = identity.open_sealed(secret["value_sealed"])

    files = [
        (f["path"], identity.open_sealed(f["content_sealed"]).encode("utf-8"))
        for f in store.sandbox_resources("files", sandbox_id)
    ]

    # A volume's data lives on the sandbox's own disk (under its quota), by volume id.
    volumes = [
        (vol["id"], vol["path"], bool(vol["read_only"]))
        for vol in store.sandbox_resources("volumes", sandbox_id)
        if vol.get("path")
    ]

    services = [
        ServiceSpec(id=s["id"], name=s["name"], command=s["command"])
        for s in store.list_services(sandbox_id)
    ]

    keys = store.get_ssh_keys(sandbox_id)
    tailscale = store.get_tailscale_key(sandbox_id)
    return SandboxSpec(
        id=row["id"],
        name=row["name"],
        env=env,
        files=files,
        ssh_private_key=identity.open_sealed(keys["private_key_sealed"]) if keys else None,
        ssh_public_key=keys["public_key"] if keys else None,
        tailscale_auth_key=identity.open_sealed(tailscale["auth_key_sealed"]) if tailscale else None,
        volumes=volumes,
        services=services,
        repo=row.get("repo"),
        limits=defaults.with_record(row.get("vcpus"), row.get("memory"), row.get("disk")),
        host_uid=store.host_uid(sandbox_id, HOST_UID_BASE, HOST_UID_COUNT),
    )
