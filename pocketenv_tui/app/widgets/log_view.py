"""LogView: a :class:`~pocketenv_tui.app.log_follow.FollowedLog` drawn by TextLines.

Each line is prefixed by its service's name, in the service's colour (``log-view--service-N``,
theme colours from styles/logs.tcss), padded to the longest name so the text lines up; the
service's own colours are kept after it. The view follows the end while it is there.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.message import Message

from pocketenv_tui.app.log_follow import COLOUR_SLOTS, FollowedLog
from pocketenv_tui.app.widgets.text_lines import TextLines

SEPARATOR = " │ "


class LogSource:
    """The followed log's lines as the view shows them (name column, separator, text)."""

    def __init__(self, log: FollowedLog, view: LogView) -> None:
        self.followed = log
        self.view = view
        self.name_width = log.name_width

    @property
    def first(self) -> int:
        return self.followed.first

    @property
    def end(self) -> int:
        return self.followed.end

    def plain(self, number: int) -> str:
        line = self.followed.line(number)
        return f"{line.service:<{self.name_width}}{SEPARATOR}{line.text.plain}"

    def text(self, number: int) -> Text:
        line = self.followed.line(number)
        styles = self.view.slot_styles()
        body = line.text
        if line.note:
            body = Text(body.plain, style=styles[-1])
        return Text.assemble(
            (f"{line.service:<{self.name_width}}", styles[line.slot % COLOUR_SLOTS]),
            (SEPARATOR, styles[-2]),
            body,
        )


class LogView(TextLines):
    COMPONENT_CLASSES = TextLines.COMPONENT_CLASSES | {
        *(f"log-view--service-{slot}" for slot in range(COLOUR_SLOTS)),
        "log-view--separator",
        "log-view--note",
    }

    class JumpedToEnd(Message):
        """``end`` was pressed in the view: following (and a paused log) should resume."""

    def __init__(self, log: FollowedLog, *, id: str | None = None) -> None:
        self.followed = log
        self._styles: list[Style] | None = None
        super().__init__(LogSource(log, self), follow=True, id=id)

    def slot_styles(self) -> list[Style]:
        """The services' colours, then the separator's and the notes' (last)."""
        if self._styles is None:
            names = [f"log-view--service-{slot}" for slot in range(COLOUR_SLOTS)]
            names += ["log-view--separator", "log-view--note"]
            self._styles = [self.get_component_rich_style(name, partial=True) for name in names]
        return self._styles

    def notify_style_update(self) -> None:
        self._styles = None
        super().notify_style_update()

    def show_new_lines(self) -> None:
        """Take what the log has now; a wider name column renders every line again."""
        source = self.source
        assert isinstance(source, LogSource)
        if source.name_width != self.followed.name_width:
            source.name_width = self.followed.name_width
            self.restyle()
        else:
            self.lines_changed()

    def action_scroll_end(self) -> None:
        # The scroll keys' own `end`: it means what `G` means in this view.
        self.jump_to_end()
        self.post_message(self.JumpedToEnd())
