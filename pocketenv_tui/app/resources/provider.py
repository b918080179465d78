"""Provider settings of a hosted sandbox: which provider runs it and that provider's keys.

Stored keys come back redacted; they are shown that way and sent again only when edited (a
field still holding the redacted text is left out). The local backend records a provider
name but runs every sandbox itself, so the tab is only offered for hosted sandboxes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from pocketenv_tui.api.crypto import redact, seal
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.resources.form import Field, FormRefused, Values
from pocketenv_tui.app.resources.pane import ResourcePane
from pocketenv_tui.app.resources.rules import required_error
from pocketenv_tui.app.stylesheets import stylesheets

PROVIDER_PREF = "io.pocketenv.sandbox.defs#sandboxProviderPref"


@dataclass(frozen=True)
class Credential:
    key: str  # the preference's field name
    label: str
    sealed: bool  # sealed and redacted (a key), or plain (an id)

    @property
    def redacted_key(self) -> str:
        return "redacted" + self.key[0].upper() + self.key[1:]


def _key(key: str, label: str) -> Credential:
    return Credential(key, label, True)


def _id(key: str, label: str) -> Credential:
    return Credential(key, label, False)


# name -> (label, credentials), in the web app's order.
PROVIDERS: dict[str, tuple[str, list[Credential]]] = {
    "cloudflare": ("Cloudflare Sandbox (Recommended)", []),
    "daytona": ("Daytona", [_key("apiKey", "API Key"), _id("organizationId", "Organization ID")]),
    "vercel": ("Vercel Sandbox", [_key("apiKey", "API Token"), _id("vercelProjectId", "Project ID"), _id("vercelTeamId", "Team ID")]),
    "deno": ("Deno Sandbox", [_key("apiKey", "Deploy Token")]),
    "sprites": ("Sprites", [_key("apiKey", "API Key")]),
    "modal": ("Modal", [_key("modalTokenId", "Token ID"), _key("modalTokenSecret", "Token Secret")]),
    "e2b": ("E2B", [_key("e2bApiKey", "Access Token")]),
    "hopx": ("Hopx", [_key("hopxApiKey", "API Key")]),
    "runloop": ("Runloop", [_key("runloopApiKey", "API Key")]),
}


def has_provider_settings(sandbox: Sandbox) -> bool:
    """Not on the local backend: it records the provider a sandbox names (``localBase`` marks
    its sandboxes) but runs every one on this machine, with no vendor keys to set."""
    return (sandbox.provider or "") != "local" and sandbox.local_base is None


def stored_provider(preferences: list[dict[str, Any]], sandbox: Sandbox) -> tuple[str, dict[str, str]]:
    """(provider name, what the server shows for each credential: redacted keys, plain ids)."""
    for item in preferences:
        if item.get("$type") == PROVIDER_PREF and isinstance(item.get("name"), str):
            name = item["name"]
            shown: dict[str, str] = {}
            for credential in PROVIDERS.get(name, ("", []))[1]:
                value = item.get(credential.redacted_key if credential.sealed else credential.key)
                if isinstance(value, str) and value:
                    shown[credential.key] = value
            return name, shown
    return (sandbox.provider or "cloudflare"), {}


def provider_preference(
    name: str, typed: Mapping[str, str], shown: Mapping[str, str], sealer: Callable[[str], str]
) -> dict[str, Any]:
    """The ``sandboxProviderPref`` to send: a key still equal to what the server showed is
    left out (it was not edited); edited keys go sealed with their redacted twin."""
    pref: dict[str, Any] = {"$type": PROVIDER_PREF, "name": name}
    for credential in PROVIDERS[name][1]:
        value = typed.get(credential.key, "").strip()
        if not value:
            continue
        if credential.sealed:
            if value == shown.get(credential.key):
                continue
            pref[credential.key] = sealer(value)
            pref[credential.redacted_key] = redact(value)
        else:
            pref[credential.key] = value
    return pref


class ProviderPicker(ModalScreen[str | None]):
    CSS_PATH = stylesheets("dialogs", "resources")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="provider.cancel")]

    def __init__(self, current: str) -> None:
        super().__init__(id="provider-picker")
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Sandbox provider", classes="dialog-title")
            yield OptionList(*[Option(label, id=name) for name, (label, _) in PROVIDERS.items()], id="provider-options")
            yield Label("enter picks · esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = list(PROVIDERS)
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProviderPane(ResourcePane):
    can_focus = True
    MUTATING = frozenset({"edit"})
    BINDINGS = [Binding("p", "edit", "Change provider", id="provider.edit")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider = ""
        self.shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-problem")
        yield Static("", id="provider-view", classes="key-view")

    def on_mount(self) -> None:
        self.query_one(".pane-problem").display = False

    async def load(self) -> None:
        preferences = await self.client.sandboxes.get_preferences(self.sandbox_id)
        self.provider, self.shown = stored_provider(preferences, self.sandbox)
        label, credentials = PROVIDERS.get(self.provider, (self.provider, []))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("Provider", label)
        for credential in credentials:
            grid.add_row(credential.label, self.shown.get(credential.key, "-"))
        self.query_one("#provider-view", Static).update(
            Group(grid, Text("\nKeys are shown redacted; p changes the provider or its keys.", style="italic"))
        )

    def action_edit(self) -> None:
        if self.refused("edit"):
            return

        def picked(name: str | None) -> None:
            if name is not None:
                self._open(name)

        self.app.push_screen(ProviderPicker(self.provider), picked)

    def _open(self, name: str) -> None:
        label, credentials = PROVIDERS[name]
        # Changing the provider clears the fields; keeping it shows the stored (redacted) values.
        shown = dict(self.shown) if name == self.provider else {}
        fields = [
            Field(
                c.key,
                c.label + (" (sealed; leave as shown to keep)" if c.sealed and c.key in shown else ""),
                kind="password" if c.sealed else "text",
                value=shown.get(c.key, ""),
                check=lambda value, what=c.label: required_error(value, what),
            )
            for c in credentials
        ]
        self.open_form(f"{label} for {self.sandbox.name}", fields, lambda values, form: self._save(name, values, shown),
                       submit_label="Save Provider", form_id="provider-form")

    async def _save(self, name: str, values: Values, shown: dict[str, str]) -> str:
        public_key = self.client.config.public_key
        if not public_key:
            raise FormRefused("No server public key is configured, so keys cannot be sealed (set POCKETENV_PUBLIC_KEY).")
        preference = provider_preference(name, values, shown, lambda value: seal(value, public_key))
        values.clear()
        await self.client.sandboxes.put_preferences(self.sandbox_id, [preference])
        return "Provider saved."
