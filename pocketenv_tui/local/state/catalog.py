"""The local backend's base catalogue (what ``getSandboxes`` lists and ``base`` may name)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Base:
    name: str
    display_name: str
    description: str
    created_at: str


BASES: dict[str, Base] = {
    "shell": Base(
        name="shell",
        display_name="Shell",
        description="A plain bash shell on this machine, isolated with bubblewrap when it is available.",
        created_at="2026-01-01T00:00:00.000Z",
    ),
}


def catalog_id(base: Base) -> str:
    return f"sbx_base_{base.name}"


def base_uri(did: str, base: Base) -> str:
    return f"at://{did}/io.pocketenv.sandbox/{base.name}"


def resolve_base(value: str) -> Base | None:
    """A base named directly (``shell``), by AT-URI (``at://.../shell``) or by catalogue id."""
    name = value
    if value.startswith("at://"):
        name = value.rstrip("/").rsplit("/", 1)[-1]
    elif value.startswith("sbx_base_"):
        name = value.removeprefix("sbx_base_")
    return BASES.get(name)


def catalog_item(base: Base, did: str, installs: int) -> dict:
    """Shape (D) of api.md §3: a getSandboxes item."""
    return {
        "id": catalog_id(base),
        "name": base.name,
        "displayName": base.display_name,
        "description": base.description,
        "logo": None,
        "readme": None,
        "installs": installs,
        "uri": base_uri(did, base),
        "createdAt": base.created_at,
    }
