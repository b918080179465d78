"""Copying goes through the terminal (OSC 52): the app cannot know whether the terminal took
it, so the notice says where the text was sent, and what to do where OSC 52 is not taken."""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.markup import escape
from textual.app import App


def where_copies_go(environ: Mapping[str, str] = os.environ) -> str:
    """A sentence on where a copy lands, from what the environment says about the terminal."""
    if environ.get("TMUX"):
        return (
            "Sent to tmux's clipboard (OSC 52); it reaches your system clipboard only with "
            "`set -g set-clipboard on` in tmux.conf."
        )
    if environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        return "Sent over SSH to your terminal's clipboard (OSC 52), if your terminal allows it."
    return "Sent to the terminal's clipboard (OSC 52); a terminal without OSC 52 ignores it."


def copy_with_notice(app: App, text: str, what: str, *, title: str | None = None) -> None:
    """Copy ``text`` and say so, naming ``what`` was copied and where it went."""
    app.copy_to_clipboard(text)
    app.notify(f"{escape(what)}\n{escape(where_copies_go())}", title=title or "Copied", timeout=6)
