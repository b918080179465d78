"""SSH keys and the Tailscale auth key: one value each per sandbox, shown only redacted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api.resource_models import SshKeys, TailscaleKey
from pocketenv_tui.app.clipboard import copy_with_notice
from pocketenv_tui.app.resources.form import Field, FormRefused, Values
from pocketenv_tui.app.resources.keygen import generate_ed25519
from pocketenv_tui.app.resources.pane import ResourcePane
from pocketenv_tui.app.resources.rules import (
    private_key_error,
    public_key_error,
    tailscale_key_error,
)

MAX_KEY_BYTES = 16 * 1024


def read_key_file(path_text: str, field: str) -> str:
    path = Path(path_text).expanduser()
    try:
        if path.stat().st_size > MAX_KEY_BYTES:
            raise FormRefused(f"{path} is too large to be a key.", field=field)
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormRefused(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}.", field=field) from None


def _either(values: Values, typed: str, file: str, what: str) -> dict[str, str]:
    if values[typed].strip() and values[file].strip():
        return {file: f"Paste the {what} or name its file, not both."}
    return {}


def ssh_cross_check(values: Values) -> dict[str, str]:
    problems = _either(values, "private", "private_file", "private key")
    problems.update(_either(values, "public", "public_file", "public key"))
    if not (values["private"].strip() or values["private_file"].strip()):
        problems.setdefault("private", "A private key is required (paste it or name its file).")
    if not (values["public"].strip() or values["public_file"].strip() or values["private_file"].strip()):
        problems.setdefault("public", "A public key is required (paste it or name its file).")
    if values["private"].strip():
        problem = private_key_error(values["private"])
        if problem:
            problems.setdefault("private", problem)
    if values["public"].strip():
        problem = public_key_error(values["public"])
        if problem:
            problems.setdefault("public", problem)
    return problems


def resolve_key_pair(values: Values) -> tuple[str, str]:
    """(private, public) from what was pasted or the files named; a missing public file
    defaults to the private key's file plus ``.pub``, as ssh-keygen writes them."""
    private = values["private"] or read_key_file(values["private_file"].strip(), "private_file")
    if values["public"].strip():
        public = values["public"]
    elif values["public_file"].strip():
        public = read_key_file(values["public_file"].strip(), "public_file")
    else:
        public = read_key_file(values["private_file"].strip() + ".pub", "public_file")
    problem = private_key_error(private)
    if problem:
        raise FormRefused(problem, field="private_file" if values["private_file"].strip() else "private")
    problem = public_key_error(public)
    if problem:
        raise FormRefused(problem, field="public_file" if not values["public"].strip() else "public")
    return private.strip() + "\n", public.strip()


class SshKeysPane(ResourcePane):
    can_focus = True
    MUTATING = frozenset({"put", "generate"})
    BINDINGS = [
        Binding("p", "put", "Put keys", id="ssh.put"),
        Binding("g", "generate", "Generate ed25519", id="ssh.generate"),
        Binding("c", "copy_public", "Copy public key", id="ssh.copy"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys: SshKeys | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-problem")
        yield Static("", id="ssh-keys-view", classes="key-view")

    def on_mount(self) -> None:
        self.query_one(".pane-problem").display = False

    def focus_main(self) -> None:
        self.focus()

    async def load(self) -> None:
        self.keys = await self.client.sandboxes.get_ssh_keys(self.sandbox_id)
        self.show()

    def show(self) -> None:
        view = self.query_one("#ssh-keys-view", Static)
        if self.keys is None:
            view.update(Text("No SSH key pair. Press g to generate an ed25519 pair, or p to put your own.", style="italic"))
            return
        view.update(
            Group(
                Text("Public key", style="bold"),
                Text(self.keys.public_key or "-", overflow="fold"),
                Text(""),
                Text("Private key (redacted; the server keeps it sealed)", style="bold"),
                Text(self.keys.private_key_display or "-", overflow="fold"),
            )
        )

    def action_put(self) -> None:
        if self.refused("put"):
            return
        fields = [
            Field("private", "Private key (OpenSSH; sealed before it is sent)", kind="multiline",
                  placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"),
            Field("private_file", "…or the private key's file", placeholder="~/.ssh/id_ed25519"),
            Field("public", "Public key", placeholder="ssh-ed25519 AAAA… you@host"),
            Field("public_file", "…or the public key's file (default: the private key's file + .pub)",
                  placeholder="~/.ssh/id_ed25519.pub"),
        ]
        self.open_form(f"SSH keys of {self.sandbox.name}", fields, lambda values, form: self._put(values),
                       submit_label="Save Keys", form_id="ssh-form", cross_check=ssh_cross_check,
                       note="Both keys are required; this replaces the sandbox's current pair.")

    async def _put(self, values: Values) -> str:
        private, public = await asyncio.to_thread(resolve_key_pair, values)
        values.clear()
        await self.client.sandboxes.put_ssh_keys(self.sandbox_id, private, public)
        return "SSH keys saved."

    def action_generate(self) -> None:
        if self.refused("generate"):
            return

        async def generate() -> None:
            private, public = generate_ed25519(f"pocketenv-{self.sandbox.name}")
            try:
                await self.client.sandboxes.put_ssh_keys(self.sandbox_id, private, public)
            finally:
                del private  # the only copy; it now lives sealed on the server

        question = "Generate a new ed25519 key pair for the sandbox?"
        if self.keys is not None:
            question += " It replaces the current pair."
        self.confirm_then(question, "Generate", generate, "Could not save the generated keys",
                          "SSH key pair generated; press c to copy the public key.")

    def action_copy_public(self) -> None:
        if self.keys is None or not self.keys.public_key:
            self.notify("There is no public key to copy.", severity="warning")
            return
        copy_with_notice(self.app, self.keys.public_key, "Public key copied.", title=self.title)


class TailscalePane(ResourcePane):
    can_focus = True
    MUTATING = frozenset({"put"})
    BINDINGS = [Binding("p", "put", "Put auth key", id="tailscale.put")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key: TailscaleKey | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-problem")
        yield Static("", id="tailscale-view", classes="key-view")

    def on_mount(self) -> None:
        self.query_one(".pane-problem").display = False

    def focus_main(self) -> None:
        self.focus()

    async def load(self) -> None:
        self.key = await self.client.sandboxes.get_tailscale_auth_key(self.sandbox_id)
        view = self.query_one("#tailscale-view", Static)
        if self.key is None:
            view.update(Text("No Tailscale auth key. Press p to put one (tskey-auth-…).", style="italic"))
        else:
            view.update(Group(Text("Auth key (redacted)", style="bold"), Text(self.key.auth_key or "-", overflow="fold")))

    def action_put(self) -> None:
        if self.refused("put"):
            return
        fields = [Field("auth_key", "Auth key (sealed before it is sent)", kind="password",
                        placeholder="tskey-auth-…", check=tailscale_key_error)]
        self.open_form(f"Tailscale auth key of {self.sandbox.name}", fields, lambda values, form: self._put(values),
                       submit_label="Save Auth Key", form_id="tailscale-form")

    async def _put(self, values: Values) -> str:
        key = values.pop("auth_key").strip()
        await self.client.sandboxes.put_tailscale_auth_key(self.sandbox_id, key)
        return "Auth key saved."
