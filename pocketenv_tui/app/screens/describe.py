"""`i`: a sandbox's whole record as highlighted YAML (or JSON), to read, search and copy.

What goes in the document, and how it is written safely, is
:mod:`pocketenv_tui.app.describe_document`. This screen loads it in one worker (the record,
then its ports, services, secrets' and variables' names and usage at once), shows "Loading…"
meanwhile and the error in place of the document when the record cannot be read.

Highlighting: Textual's TextArea needs tree-sitter for it, which this app does not ship, so
the document is tokenised by Pygments (through Rich's Syntax, which every Rich has) with a
theme made of this view's component styles (theme variables in styles/describe.tcss), and
drawn by TextLines: the line API, search and copy work the same as in the logs view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pygments.token import Comment, Keyword, Name, Number, Punctuation, String, Token
from rich.style import Style
from rich.syntax import ANSISyntaxTheme, Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.clipboard import copy_with_notice
from pocketenv_tui.app.describe_document import (
    DescribeData,
    SectionError,
    describe_document,
    to_json,
    to_yaml,
)
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings
from pocketenv_tui.app.screens.text_search import TextSearch, search_prompt
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.text_lines import ListSource, TextLines
from pocketenv_tui.terminal.plain_text import strip_controls

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

FORMATS = ("yaml", "json")
# Pygments token -> the component class that colours it.
TOKEN_CLASSES = {
    Name.Tag: "key",
    String: "string",
    Name.Constant: "string",  # the lines of a YAML literal block
    String.Escape: "escape",
    Token.Literal.Scalar.Plain: "scalar",
    Number: "scalar",
    Keyword.Constant: "scalar",
    Comment: "comment",
    Punctuation: "punctuation",
}


class DocumentView(TextLines):
    """The document's lines, highlighted by Pygments in this view's theme colours."""

    COMPONENT_CLASSES = TextLines.COMPONENT_CLASSES | {f"document-view--{name}" for name in set(TOKEN_CLASSES.values())}

    def highlight(self, document: str, language: str) -> list[Text]:
        styles: dict[Any, Style] = {
            token: self.get_component_rich_style(f"document-view--{name}", partial=True)
            for token, name in TOKEN_CLASSES.items()
        }
        syntax = Syntax(document, language, theme=ANSISyntaxTheme(styles), word_wrap=False)
        lines = syntax.highlight(document).split("\n", allow_blank=True)
        if lines and not lines[-1].plain:
            lines.pop()  # after the document's final newline
        return list(lines)


async def _section(call: Callable[[], Awaitable[Any]], what: str, screen: DescribeScreen) -> Any:
    """A part of the document, or what went wrong in its place (the rest is still shown)."""
    try:
        return await call()
    except Exception as exc:  # any failure is shown in the document, never as a traceback
        return SectionError(describe_error(exc, screen.pocketenv.context, f"Could not read the {what}").one_line())


class DescribeScreen(TextSearch):
    CSS_PATH = stylesheets("describe")
    BINDINGS = [
        Binding("escape", "back", "Back", id="describe.back"),
        Binding("slash", "search", "Search", id="describe.search"),
        Binding("n", "next_match", "Next match", id="describe.next_match"),
        Binding("N", "previous_match", "Previous match", id="describe.previous_match", show=False),
        Binding("j", "toggle_format", "JSON/YAML", id="describe.format"),
        Binding("c", "copy", "Copy", id="describe.copy"),
        Binding("r", "refresh", "Reload", id="describe.refresh"),
        Binding("question_mark", "help", "Help", id="describe.help"),
    ]

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.format = "yaml"
        self.document: dict[str, Any] | None = None  # None while loading or after a failure
        self.problem: str | None = None
        self.is_loading = True

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="describe-status")
        yield DocumentView(id="describe-view")
        yield search_prompt()
        yield KeyFooter()

    def on_mount(self) -> None:
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        header.view_label = f"describe {self.sandbox.name}"
        self.show_message(Text("Loading…", style="italic"))
        self.text_view().focus()
        self.reload()

    def text_view(self) -> DocumentView:
        return self.query_one(DocumentView)

    # -- loading -------------------------------------------------------------------------------
    def reload(self) -> None:
        self.is_loading = True
        self._show_status()
        self.run_worker(self._load, group="describe-load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        client = self.pocketenv.client
        sandbox_id = self.sandbox.id
        try:
            sandbox = await client.sandboxes.get(sandbox_id)
            if sandbox is None:
                self._failed(f"{self.sandbox.name} no longer exists.")
                return
            data = DescribeData(sandbox, *await asyncio.gather(
                _section(lambda: client.sandboxes.get_exposed_ports(sandbox_id), "ports", self),
                _section(lambda: client.services.list(sandbox_id), "services", self),
                _section(lambda: self._names(client.secrets, sandbox_id), "secrets", self),
                _section(lambda: self._names(client.variables, sandbox_id), "variables", self),
                _section(lambda: self._usage(client, sandbox_id), "usage", self),
            ))
            document = describe_document(data)
        except Exception as exc:  # shown in the view, never as a traceback
            problem = describe_error(exc, self.pocketenv.context, f"Could not describe {self.sandbox.name}")
            self._failed(f"{problem.what}\n{problem.why}\n{problem.fix}")
            return
        self.sandbox = sandbox
        self.document, self.problem, self.is_loading = document, None, False
        self.show_document()
        self.refresh_bindings()  # copy is possible now

    @staticmethod
    async def _names(namespace: Any, sandbox_id: str) -> list[str]:
        # Names only: the records' values (a variable's is plain text) never reach the view.
        return [record.name async for record in namespace.iterate(sandbox_id)]

    @staticmethod
    async def _usage(client: Any, sandbox_id: str) -> Any:
        monitoring = getattr(client, "monitoring", None)  # servers and clients without it
        if monitoring is None:
            return None
        return await monitoring.usage(sandbox_id)

    def _failed(self, message: str) -> None:
        self.document, self.problem, self.is_loading = None, message, False
        self.refresh_bindings()
        # Server text (an error's message) is shown as text only, never as control sequences.
        lines = [
            Text(strip_controls(line), style="bold" if not index else "")
            for index, line in enumerate(message.split("\n"))
        ]
        self.show_message(*lines)

    # -- showing ---------------------------------------------------------------------------------
    def document_text(self) -> str | None:
        if self.document is None:
            return None
        return to_yaml(self.document) if self.format == "yaml" else to_json(self.document)

    def show_document(self) -> None:
        text = self.document_text()
        if text is None:
            return
        view = self.text_view()
        search_text = view.search_text
        view.set_source(ListSource(view.highlight(text, self.format)))
        if search_text:
            view.search(search_text)
        self._show_status()

    def show_message(self, *lines: Text) -> None:
        view = self.text_view()
        view.set_source(ListSource(list(lines)))
        self._show_status()

    def search_changed(self) -> None:
        self._show_status()
        self.refresh_bindings()  # n / N follow whether there are matches

    def _show_status(self) -> None:
        view = self.text_view()
        parts = [self.format.upper()]
        if self.is_loading:
            parts.append("loading…")
        elif self.problem is not None:
            parts.append("could not load (r tries again)")
        else:
            parts.append(f"{view.source.end} lines")
        if view.search_text:
            parts.append(f"/{view.search_text} {view.match_label()}")
        status = self.query_one("#describe-status", Static)
        status.update(Text(" · ".join(parts)))

    # -- keys --------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match"):
            return self.has_matches()
        if action == "copy":
            return True if self.document is not None else None
        return True

    def action_toggle_format(self) -> None:
        self.format = FORMATS[(FORMATS.index(self.format) + 1) % len(FORMATS)]
        if self.document is not None:
            self.show_document()
        else:
            self._show_status()

    def action_copy(self) -> None:
        text = self.document_text()
        if text is None:
            self.notify("Nothing to copy yet.", severity="warning")
            return
        what = f"Copied the description of {self.sandbox.name} ({self.format.upper()}, {text.count(chr(10))} lines)"
        copy_with_notice(self.app, text, what, title="Describe")

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(f"describe {self.sandbox.name}", describe_bindings(self), []))


def open_describe(app: PocketenvApp, sandbox: Sandbox) -> None:
    app.push_screen(DescribeScreen(sandbox))
