"""`n`: the create-sandbox form (name, base from the catalog, provider, repo, keep-alive).

The form stays open while the server creates the sandbox: a refusal (a name already taken,
a bad repository) is shown beside the field it concerns, or under the form, with everything
typed kept; only a created sandbox closes it (the list then follows it until RUNNING).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.validation import expand_repo, name_error, repo_error

HOSTED_PROVIDERS = [
    "cloudflare", "sprites", "daytona", "deno", "vercel", "modal", "e2b", "hopx", "runloop",
]  # fmt: skip


@dataclass(frozen=True)
class CreateRequest:
    base: str
    name: str | None
    provider: str | None
    repo: str | None
    keep_alive: bool


BaseLoader = Callable[[], Awaitable[list[tuple[str, str]]]]
Creator = Callable[[CreateRequest], Awaitable[Sandbox]]
# A server's refusal mentions the field it is about: shown beside it rather than under the form.
_FIELD_WORDS = {"name": ("name", "named"), "repo": ("repo", "repository")}


class CreateScreen(ModalScreen[Sandbox | None]):
    CSS_PATH = stylesheets("dialogs")
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="create.cancel"),
        Binding("ctrl+s", "submit", "Create", id="create.submit"),
    ]

    def __init__(
        self,
        load_bases: BaseLoader,
        providers: Sequence[str],
        create: Creator,
        *,
        base: str | None = None,
    ) -> None:
        super().__init__()
        self.load_bases = load_bases
        self.create = create
        self.sending = False
        self.providers = list(providers)
        self.preselected_base = base

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="create-dialog", classes="dialog form"):
            yield Label("New sandbox", classes="dialog-title")
            yield Label("Name (empty: the server picks one)", classes="field-label")
            yield Input(placeholder="my-sandbox", id="name")
            yield Label("", id="name-error", classes="field-error")
            yield Label("Base", classes="field-label")
            yield Select[str]([], id="base", prompt="loading the catalog…", allow_blank=True)
            yield Label("", id="base-error", classes="field-error")
            yield Label("Provider", classes="field-label")
            yield Select[str](
                [(p, p) for p in self.providers],
                id="provider",
                value=self.providers[0],
                allow_blank=False,
            )
            yield Label("Repository (github:owner/repo, gitlab:…, tangled:… or a URL)", classes="field-label")
            yield Input(placeholder="github:owner/repo", id="repo")
            yield Label("", id="repo-error", classes="field-error")
            yield Checkbox("Keep alive (no inactivity auto-stop)", id="keep-alive")
            yield Label("", id="form-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self.fill_bases()

    @work(exclusive=True, group="create-bases", exit_on_error=False)
    async def fill_bases(self) -> None:
        select = self.query_one("#base", Select)
        try:
            options = await self.load_bases()
        except Exception as exc:  # shown in the form; the user may still cancel
            self._set_error("base", f"Could not load the catalog: {exc}")
            select.prompt = "catalog unavailable"
            return
        select.set_options(options)
        select.prompt = "choose a base"
        values = [value for _, value in options]
        wanted = self.preselected_base if self.preselected_base in values else None
        if wanted is None and values:
            wanted = values[0]
        if wanted is not None:
            select.value = wanted

    def _set_error(self, field: str, message: str | None) -> None:
        label = self.query_one(f"#{field}-error", Label)
        label.update(message or "")
        label.set_class(bool(message), "-shown")
        widget = self.query_one(f"#{field}")
        widget.set_class(bool(message), "-invalid")

    @on(Input.Changed, "#name")
    def _name_changed(self, event: Input.Changed) -> None:
        self._set_error("name", name_error(event.value))

    @on(Input.Changed, "#repo")
    def _repo_changed(self, event: Input.Changed) -> None:
        self._set_error("repo", repo_error(event.value))

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create":
            self.action_submit()
        else:
            self.action_cancel()

    def validate(self) -> CreateRequest | None:
        """Show every problem at once; a request only when there is none."""
        name = self.query_one("#name", Input).value.strip()
        repo_text = self.query_one("#repo", Input).value
        base = self.query_one("#base", Select).value
        problems = {
            "name": name_error(name),
            "repo": repo_error(repo_text),
            "base": None if isinstance(base, str) and base else "Choose a base from the catalog.",
        }
        for field, message in problems.items():
            self._set_error(field, message)
        if any(problems.values()):
            return None
        provider = self.query_one("#provider", Select).value
        return CreateRequest(
            base=str(base),
            name=name or None,
            provider=provider if isinstance(provider, str) else None,
            repo=expand_repo(repo_text),
            keep_alive=self.query_one("#keep-alive", Checkbox).value,
        )

    def action_submit(self) -> None:
        if self.sending:
            return
        request = self.validate()
        if request is not None:
            self._set_form_error(None)
            self.send(request)

    @work(exclusive=True, group="create-send", exit_on_error=False)
    async def send(self, request: CreateRequest) -> None:
        button = self.query_one("#create", Button)
        self.sending = True
        button.label, button.disabled = "Creating…", True
        try:
            sandbox = await self.create(request)
        except PocketenvError as exc:
            self._refused(exc.message or str(exc))
        else:
            self.dismiss(sandbox)
            return
        finally:
            self.sending = False
            button.label, button.disabled = "Create", False

    def _refused(self, message: str) -> None:
        lowered = message.casefold()
        for field, words in _FIELD_WORDS.items():
            if any(word in lowered for word in words):
                self._set_error(field, message)
                self.query_one(f"#{field}", Input).focus()
                return
        self._set_form_error(f"The server refused: {message}")

    def _set_form_error(self, message: str | None) -> None:
        label = self.query_one("#form-error", Label)
        label.update(message or "")
        label.set_class(bool(message), "-shown")

    def action_cancel(self) -> None:
        self.dismiss(None)
