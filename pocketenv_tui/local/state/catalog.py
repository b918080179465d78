"""The local backend's bases and providers: what ``getSandboxes`` lists and what ``createSandbox`` takes.

What runs here is one base, ``shell``: a bash shell on this machine, isolated with bubblewrap.
The catalogue lists only that, because it is the only thing a sandbox of this server is.

The official clients name hosted templates all the same (the CLI's default base is the
``openclaw`` AT-URI, the SDK examples say ``openclaw``), so every hosted template name is
accepted as a base, bare, as an AT-URI of any owner, or as a catalogue id. The sandbox
records the name it was asked for (``baseSandbox: "openclaw"``, so clients that pick a worker
host by template still find the names they know) and runs the ``shell`` base; its record says
so in ``localBase``. Nothing of the template (its tools, its image) is installed.

Providers work the same way: every upstream provider name is accepted and recorded, so the
official clients' provider switches (terminal family, ``backup create`` wanting cloudflare)
take the branch they expect, and every sandbox runs on this machine whatever it names. A
missing provider is ``cloudflare``, as upstream defaults it. Provider credentials
(``providerOptions``) are not stored: this server never talks to a vendor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Base:
    name: str
    display_name: str
    description: str
    created_at: str


SHELL = Base(
    name="shell",
    display_name="Shell",
    description=(
        "A plain bash shell on this machine, isolated with bubblewrap when it is available. "
        "Hosted template names (openclaw, claude-code, codex...) are accepted too and run as this shell."
    ),
    created_at="2026-01-01T00:00:00.000Z",
)
BASES: dict[str, Base] = {SHELL.name: SHELL}

# The hosted templates (api.md §5): the Cloudflare ones, plus ``claude``, the Daytona and
# Modal images' spelling of claude-code.
HOSTED_TEMPLATES = frozenset({
    "openclaw", "amp", "claude-code", "claude", "codex", "copilot", "crush", "cursor", "docker",
    "gemini", "kilo", "kiro", "mise", "nanoclaw", "nix", "nullclaw", "opencode", "opencrust",
    "picoclaw", "pkgx", "wasmer", "zeroclaw",
})

# The upstream provider enum (the official CLI's list), plus our own name.
LOCAL_PROVIDER = "local"
DEFAULT_PROVIDER = "cloudflare"
UPSTREAM_PROVIDERS = (
    "cloudflare", "daytona", "deno", "vercel", "sprites", "modal", "e2b", "hopx", "runloop", "blaxel",
)
PROVIDERS = frozenset({*UPSTREAM_PROVIDERS, LOCAL_PROVIDER})


@dataclass(frozen=True)
class ResolvedBase:
    """A base as asked for (``requested``, recorded as ``baseSandbox``) and what runs (``base``)."""

    requested: str
    base: Base


def catalog_id(base: Base) -> str:
    return f"sbx_base_{base.name}"


def base_uri(did: str, base: Base) -> str:
    return f"at://{did}/io.pocketenv.sandbox/{base.name}"


def base_name(value: str) -> str:
    """The template name in a base reference: ``shell``, ``at://did/io.pocketenv.sandbox/shell``
    or ``sbx_base_shell`` all give ``shell``."""
    if value.startswith("at://"):
        return value.rstrip("/").rsplit("/", 1)[-1]
    if value.startswith("sbx_base_"):
        return value.removeprefix("sbx_base_")
    return value


def resolve_base(value: str) -> ResolvedBase | None:
    """The base ``value`` names, or None when it names neither our base nor a hosted template."""
    name = base_name(value)
    if name in BASES:
        return ResolvedBase(name, BASES[name])
    if name in HOSTED_TEMPLATES:
        return ResolvedBase(name, SHELL)
    return None


def runs_as(recorded: str) -> Base:
    """What a sandbox whose ``baseSandbox`` is ``recorded`` runs here (always a known base)."""
    return BASES.get(recorded, SHELL)


def accepted_bases() -> str:
    """For error messages: what ``base`` may be."""
    return f"{', '.join(sorted(BASES))} (or a hosted template name, which runs as shell: {', '.join(sorted(HOSTED_TEMPLATES))})"


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
