"""The `:` command line: aliases to commands, parsed without Textual so it is easy to test."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

# alias -> canonical command
ALIASES: dict[str, str] = {
    "sandboxes": "sandboxes", "sandbox": "sandboxes", "sb": "sandboxes", "ls": "sandboxes",
    "mine": "sandboxes",
    "running": "running", "run": "running", "ps": "running",
    "catalog": "catalog", "cat": "catalog", "templates": "catalog", "bases": "catalog",
    "ctx": "ctx", "context": "ctx",
    "q": "quit", "quit": "quit", "exit": "quit", "q!": "quit",
    "help": "help", "h": "help", "?": "help",
    "sort": "sort",
    "refresh": "refresh", "r": "refresh",
    "theme": "theme",
}  # fmt: skip

DESCRIPTIONS: list[tuple[str, str]] = [
    (":sandboxes (:sb, :ls)", "your sandboxes"),
    (":running (:ps)", "only running sandboxes"),
    (":catalog (:templates)", "the template catalog; enter creates from a template"),
    (":ctx [local|api]", "switch between the local backend and the token's API"),
    (":sort COLUMN [desc]", "sort by a column, e.g. :sort created desc"),
    (":theme NAME", "change the theme (remembered)"),
    (":refresh (:r)", "refresh now"),
    (":help", "this help"),
    (":q (:quit)", "quit"),
]


class CommandError(ValueError):
    """The command line cannot be run; ``str()`` is shown to the user."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def parse_command(text: str) -> Command:
    text = text.strip().removeprefix(":").strip()
    if not text:
        raise CommandError("Type a command, e.g. :running, :catalog, :ctx or :q.")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CommandError(f"Cannot read that command: {exc}.") from None
    head, *rest = words
    name = ALIASES.get(head.casefold())
    if name is None:
        raise CommandError(
            f"Unknown command :{head}. Try :sandboxes, :running, :catalog, :ctx or :q (? for help)."
        )
    return Command(name, tuple(rest))
