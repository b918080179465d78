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
    "events": "events", "ev": "events",
}  # fmt: skip

DESCRIPTIONS: list[tuple[str, str]] = [
    (":sandboxes (:sb, :ls)", "your sandboxes"),
    (":running (:ps)", "only running sandboxes"),
    (":catalog (:templates)", "the template catalog; enter creates from a template"),
    (":ctx, :ctx NAME", "pick a context (with its health), or switch to NAME: local, api, contexts.json's"),
    (":events [TEXT] (:ev)", "what happened to every sandbox, newest first; TEXT filters"),
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


def complete_command(text: str, arguments: dict[str, list[str]]) -> tuple[str, list[str]]:
    """Tab in the command line: ``text`` completed as far as it is unambiguous, and the
    candidates still open (several when the text stops at a common prefix).

    The first word completes over the command names and aliases; a later word over
    ``arguments[command]`` (contexts, columns, themes...)."""
    stripped = text.lstrip().removeprefix(":")
    words = stripped.split(" ")
    if len(words) == 1:
        candidates = sorted({alias for alias in ALIASES if alias.startswith(words[0].casefold())})
        # Prefer canonical names: "ru" offers running, not also "run".
        canonical = [alias for alias in candidates if ALIASES[alias] == alias]
        candidates = canonical or candidates
        prefix = _common_prefix(candidates)
        if len(candidates) == 1:
            return candidates[0] + " ", candidates
        return (prefix if len(prefix) > len(words[0]) else words[0]), candidates
    name = ALIASES.get(words[0].casefold())
    options = arguments.get(name or "", [])
    head, last = " ".join(words[:-1]), words[-1]
    candidates = [option for option in options if option.casefold().startswith(last.casefold())]
    if len(candidates) == 1:
        return f"{head} {candidates[0]}", candidates
    prefix = _common_prefix(candidates)
    return f"{head} {prefix if len(prefix) > len(last) else last}", candidates


def _common_prefix(words: list[str]) -> str:
    if not words:
        return ""
    first, last = min(words), max(words)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]
