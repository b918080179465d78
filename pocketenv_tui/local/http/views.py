"""JSON shapes of the hosted API's answers (api.md §2–3), built from store rows."""

from __future__ import annotations

import json
from typing import Any

from pocketenv_tui.local.sandbox.files import printable
from pocketenv_tui.local.state.catalog import runs_as


def _topics(row: dict[str, Any]) -> list[str] | None:
    return json.loads(row["topics"]) if row.get("topics") else None


def profile(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "did": user["did"],
        "handle": user["handle"],
        # Upstream profiles always have one (clients print it); ours is the handle until set.
        "displayName": user.get("display_name") or user["handle"],
        "avatar": user.get("avatar"),
        "createdAt": user["created_at"],
        "updatedAt": user["updated_at"],
    }


def _in_force(row: dict[str, Any], key: str, confinement: dict[str, Any]) -> int | float | None:
    """The record's own value, else the server's default when it is a whole number of GB."""
    if row.get(key) is not None:
        return row[key]
    limits = confinement.get("limits") or {}
    if key == "vcpus":
        return limits.get("vcpus")
    mib = limits.get("memoryMiB" if key == "memory" else "diskMiB")
    return mib // 1024 if isinstance(mib, int) and mib and mib % 1024 == 0 else None


def _confinement(out: dict[str, Any], row: dict[str, Any], confinement: dict[str, Any]) -> dict[str, Any]:
    """Limits in force and protections: the local backend's additions to a sandbox record."""
    for key in ("vcpus", "memory", "disk"):
        out[key] = _in_force(row, key, confinement)
    out["isolation"] = confinement.get("isolation")
    # What runs here whatever base and provider were asked for (catalog.py).
    out["localBase"] = runs_as(row["base"]).name
    for key in ("limits", "protections", "missingProtections"):
        if key in confinement:
            out[key] = confinement[key]
    return out


def _common(row: dict[str, Any], confinement: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "name": row["name"],
        "provider": row["provider"],
        "baseSandbox": row["base"],
        "displayName": row.get("display_name"),
        "description": row.get("description"),
        "logo": row.get("logo"),
        "readme": row.get("readme"),
        "status": row["status"],
        "installs": 0,
        "uri": row.get("uri"),
        "createdAt": row["created_at"],
    }
    _confinement(out, row, confinement)  # vcpus, memory, disk: the values in force
    if row.get("started_at"):
        out["startedAt"] = row["started_at"]
    if row.get("warnings"):
        out["warnings"] = shown_warnings(json.loads(row["warnings"]))
    # Not in the hosted views; the dashboard shows it on the sandbox screen when it is sent.
    out["keepAlive"] = bool(row.get("keep_alive"))
    return out


def sandbox_detailed(row: dict[str, Any], owner: dict[str, Any] | None, confinement: dict[str, Any]) -> dict[str, Any]:
    """Shape (C): getSandbox's ``sandbox``."""
    out = _common(row, confinement)
    out["topics"] = _topics(row)
    out["repo"] = row.get("repo")
    if owner is not None:
        out["owner"] = profile(owner)
    return out


def sandbox_list_item(row: dict[str, Any], confinement: dict[str, Any]) -> dict[str, Any]:
    """Shape (A): a getActorSandboxes item (no topics, repo or owner)."""
    return _common(row, confinement)


def sandbox_created(row: dict[str, Any], confinement: dict[str, Any]) -> dict[str, Any]:
    """Shape (B): createSandbox's answer, with the stored (not random) name and resources."""
    out = {
        "id": row["id"],
        "name": row["name"],
        "provider": row["provider"],
        "baseSandbox": row["base"],
        "description": row.get("description"),
        "topics": _topics(row),
        "repo": row.get("repo"),
        "readme": row.get("readme"),
        "createdAt": row["created_at"],
        "uri": row.get("uri"),
        "status": row["status"],
    }
    return _confinement(out, row, confinement)


def secret(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "sandboxId": row.get("sandbox_id"), "createdAt": row["created_at"]}


def variable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "value": row["value"], "sandboxId": row.get("sandbox_id"),
        "createdAt": row["created_at"], "updatedAt": row["updated_at"],
    }


def file(row: dict[str, Any], applies_at_next_start: bool = False) -> dict[str, Any]:
    """``appliesAtNextStart`` (the local backend's addition): the sandbox runs and this file
    cannot be placed into it before its next start (its top-level directory is made then)."""
    return {
        "id": row["id"], "path": row["path"], "sandboxId": row.get("sandbox_id"),
        "createdAt": row["created_at"], "updatedAt": row["updated_at"],
        "appliesAtNextStart": applies_at_next_start,
    }


def volume(row: dict[str, Any], applies_at_next_start: bool = False) -> dict[str, Any]:
    """``appliesAtNextStart`` (the local backend's addition): the sandbox runs and did not
    mount this volume, or not at this path or with this read-only flag, when it started."""
    return {
        "id": row["id"], "name": row["name"], "path": row.get("path"), "readOnly": bool(row.get("read_only")),
        "sandboxId": row.get("sandbox_id"), "createdAt": row["created_at"], "updatedAt": row["updated_at"],
        "appliesAtNextStart": applies_at_next_start,
    }


def service(row: dict[str, Any], status: str, exit_code: int | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"], "name": row["name"], "description": row.get("description"), "command": row["command"],
        "ports": json.loads(row.get("ports") or "[]"), "status": status,
        "createdAt": row["created_at"], "updatedAt": row["updated_at"],
    }
    if exit_code is not None:
        out["exitCode"] = exit_code  # how a service that ended by itself ended
    return out


def port(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"port": row["port"], "previewUrl": preview_url(base_url, row["preview_token"])}
    if row.get("description") is not None:
        out["description"] = row["description"]
    return out


def preview_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/preview/{token}/"


def backup(row: dict[str, Any]) -> dict[str, Any]:
    out = {"id": row["id"], "directory": row["directory"], "description": row.get("description"), "createdAt": row["created_at"]}
    if row.get("expires_at"):
        out["expiresAt"] = row["expires_at"]
    return out


def shown_warnings(warnings: list[str]) -> list[str]:
    """Warnings as the API sends them: printable text only, whatever put it there. Many quote
    the sandbox (a clone's error, a path it made), so each may carry its control characters."""
    return [printable(str(warning), 1000) for warning in warnings]
