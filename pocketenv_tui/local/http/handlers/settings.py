"""XRPC handlers for preferences, SSH keys, Tailscale keys and integrations.

Redacted forms are computed here from the opened value rather than taken from the client:
the clients' rules send short values unchanged, which would put plaintext at rest.
"""

from __future__ import annotations

import json
from typing import Any

from pocketenv_tui.api.crypto import redact_ssh_private_key, redact_tailscale
from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http.handlers.sandboxes import check_name, check_repo, resources
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.state.catalog import PROVIDERS, UPSTREAM_PROVIDERS
from pocketenv_tui.local.state.ids import xid
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv.sandbox."
DETAILS_PREF = "io.pocketenv.sandbox.defs#sandboxDetailsPref"
PROVIDER_PREF = "io.pocketenv.sandbox.defs#sandboxProviderPref"


def safe_ssh_redaction(private_key: str) -> str:
    redacted = redact_ssh_private_key(private_key)
    if "*" not in redacted:  # no OpenSSH header/footer, or a body too short to mask
        return "*" * 24
    return redacted


def safe_tailscale_redaction(auth_key: str) -> str:
    redacted = redact_tailscale(auth_key)
    return "*" * len(auth_key) if redacted == auth_key else redacted


def _opened(b: Backend, body: dict[str, Any], key: str) -> tuple[str, str]:
    sealed = v.string(body, key, min_len=1, max_len=64_000)
    assert sealed is not None
    try:
        return sealed, b.identity.open_sealed(sealed)
    except ValueError:
        raise v.invalid(f"Input/{key} must be sealed to this server's public key") from None


def methods(b: Backend) -> list[Method]:
    async def get_preferences(c: Call) -> Any:
        await b.own_sandbox(c.params["id"], c.did)
        return []  # no provider credentials: the local provider needs none

    async def put_preferences(c: Call) -> Any:
        sandbox_ref = v.string(c.input, "sandboxId", min_len=1, max_len=2048)
        prefs = c.input.get("preferences")
        if prefs is None:
            raise v.invalid('Input must have the property "preferences"')
        if not isinstance(prefs, list):
            raise v.invalid("Input/preferences must be an array")
        changes: dict[str, Any] = {}
        for i, pref in enumerate(prefs):
            where = f"Input/preferences/{i}"
            if not isinstance(pref, dict) or not isinstance(pref.get("$type"), str):
                raise v.invalid(f'{where} must be an object which includes the "$type" property')
            if pref["$type"] == DETAILS_PREF:
                name = v.string(pref, "name", where, required=False, min_len=1)
                if name is not None:
                    changes["name"] = check_name(name, f"{where}/name")
                if "description" in pref:
                    changes["description"] = v.string(pref, "description", where, required=False, max_len=3000)
                if "topics" in pref:
                    topics = v.string_list(pref, "topics", where, max_items=50, item_max_len=50)
                    changes["topics"] = json.dumps(topics) if topics is not None else None
                if "repo" in pref:
                    repo = v.string(pref, "repo", where, required=False, max_len=2048)
                    changes["repo"] = check_repo(repo, f"{where}/repo") if repo else None
                changes.update({k: val for k, val in resources(pref, where).items() if val is not None})
            elif pref["$type"] == PROVIDER_PREF:
                # Recorded like createSandbox's provider; the credentials are not kept (catalog.py).
                name = v.string(pref, "name", where, min_len=1)
                if name not in PROVIDERS:
                    raise v.invalid(
                        f"{where}/name must be one of {', '.join(UPSTREAM_PROVIDERS)} or local "
                        "(each runs the sandbox on this machine)"
                    )
                changes["provider"] = name
            # Other preference types (secretPref, variablePref...) are ignored, as the hosted API does.
        sandbox = await b.own_sandbox(sandbox_ref or "", c.did)
        try:
            await b.db(b.store.update_sandbox, sandbox["id"], changes)
        except Conflict:
            raise v.conflict(f"A sandbox named {changes.get('name')!r} already exists") from None
        return NO_CONTENT

    async def get_ssh_keys(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        row = await b.db(b.store.get_ssh_keys, sandbox["id"])
        if row is None:
            raise v.not_found("Not found")
        return {
            "id": row["id"], "privateKey": row["redacted"], "publicKey": row["public_key"],
            "createdAt": row["created_at"], "updatedAt": row["updated_at"],
        }

    async def put_ssh_keys(c: Call) -> Any:
        ref = v.string(c.input, "id", min_len=1, max_len=2048)
        sealed, private_key = _opened(b, c.input, "privateKey")
        public_key = v.string(c.input, "publicKey", max_len=16_000)
        assert ref is not None and public_key is not None
        if "\n" in public_key.strip():
            raise v.invalid("Input/publicKey must be a single line (an OpenSSH public key)")
        sandbox = await b.own_sandbox(ref, c.did)
        await b.db(b.store.put_ssh_keys, {
            "id": xid("rec"), "sandbox_id": sandbox["id"], "private_key_sealed": sealed,
            "public_key": public_key.strip(), "redacted": safe_ssh_redaction(private_key),
        })
        await b.apply_records(sandbox["id"])  # a running sandbox gets them at once
        return {}

    async def get_tailscale_auth_key(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        row = await b.db(b.store.get_tailscale_key, sandbox["id"])
        if row is None:
            raise v.not_found("Not found")
        return {"id": row["id"], "authKey": row["redacted"], "createdAt": row["created_at"], "updatedAt": row["updated_at"]}

    async def put_tailscale_auth_key(c: Call) -> Any:
        ref = v.string(c.input, "id", min_len=1, max_len=2048)
        sealed, auth_key = _opened(b, c.input, "authKey")
        assert ref is not None
        sandbox = await b.own_sandbox(ref, c.did)
        await b.db(b.store.put_tailscale_key, {
            "id": xid("rec"), "sandbox_id": sandbox["id"], "auth_key_sealed": sealed,
            "redacted": safe_tailscale_redaction(auth_key),
        })
        await b.apply_records(sandbox["id"])  # into ~/.tailscale/authkey, at once if it runs
        return {}

    async def integrations(c: Call) -> Any:
        raise v.XrpcError(501, "MethodNotImplemented", "Integrations are not available on the local backend")

    sid = (Param("id", required=True),)
    return [
        Method(NS + "getPreferences", "GET", get_preferences, sid),
        Method(NS + "putPreferences", "POST", put_preferences, has_input=True),
        Method(NS + "getSshKeys", "GET", get_ssh_keys, sid),
        Method(NS + "putSshKeys", "POST", put_ssh_keys, has_input=True),
        Method(NS + "getTailscaleAuthKey", "GET", get_tailscale_auth_key, sid),
        Method(NS + "putTailscaleAuthKey", "POST", put_tailscale_auth_key, has_input=True),
        Method(NS + "createIntegration", "POST", integrations, has_input=True),
        Method(NS + "getIntegrations", "GET", integrations, sid),
    ]
