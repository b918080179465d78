"""KeyFooter: the keys of the focused context on one line, drawn by a single widget.

Textual's Footer mounts one widget per key and re-mounts all of them whenever the bindings
change (focus moves, a screen mounts), which costs about a tenth of a second during start-up.
This footer only repaints: it reads ``screen.active_bindings`` in ``render`` and keeps the
column span of every key so a click still runs it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

MORE = " …"  # marks that keys were left out (help lists them all)
KEEP = 3
# What goes first when the line is too narrow: 0 = lowest priority, KEEP = never left out.
# Quit is ctrl+q (and :q) everywhere and enter opens what is highlighted: both are known
# without the footer, so they give way to the keys of the view.
LOW_PRIORITY_ACTIONS = {
    "refresh", "resource_tab", "back", "previous_tab", "next_tab", "sort", "sort_reverse", "quit", "open",
    "command_line",
}  # fmt: skip
KEPT_ACTIONS = {"help", "dismiss_help"}


def _priority(binding: Binding) -> int:
    action = binding.action.split("(", 1)[0].removeprefix("screen.").removeprefix("app.")
    if action in KEPT_ACTIONS:
        return KEEP
    if action in LOW_PRIORITY_ACTIONS:
        return 0
    return 1


class KeyFooter(Widget, can_focus=False):
    COMPONENT_CLASSES = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--disabled",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyFooter > .key-footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyFooter > .key-footer--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyFooter > .key-footer--disabled {
        color: $footer-description-foreground 50%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # (first column, end column, key to simulate) per drawn key, for clicks.
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def shown_bindings(self) -> list[tuple[Binding, bool]]:
        """(binding, enabled) for every key to show, one per action, in binding order."""
        seen: set[str] = set()
        shown: list[tuple[Binding, bool]] = []
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or binding.action in seen or key == palette:
                continue
            seen.add(binding.action)
            shown.append((binding, active.enabled))
        return shown

    def _entry_width(self, binding: Binding) -> int:
        return cell_len(f" {self.app.get_key_display(binding)} {binding.description} ")

    def fitting_bindings(self, width: int) -> tuple[list[tuple[Binding, bool]], bool]:
        """The keys that fit in ``width`` cells, and whether some were left out. Low-priority
        keys go first (refresh, tabs, back, quit), then the rightmost ordinary ones; help
        stays, so `?` always tells what was left out."""
        shown = self.shown_bindings()
        total = sum(self._entry_width(binding) for binding, _ in shown)
        if total <= width:
            return shown, False
        room = width - cell_len(MORE)
        order = sorted(
            range(len(shown)),
            key=lambda i: (_priority(shown[i][0]), -i),
        )
        dropped: set[int] = set()
        for index in order:
            if total <= room or _priority(shown[index][0]) >= KEEP:
                break
            dropped.add(index)
            total -= self._entry_width(shown[index][0])
        return [entry for index, entry in enumerate(shown) if index not in dropped], True

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        disabled_style = self.get_component_rich_style("key-footer--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        palette = self._palette_binding()
        label = (
            Text.assemble(
                (f" {self.app.get_key_display(palette)} ", key_style),
                (f"{palette.description} ", description_style),
            )
            if palette is not None
            else Text("")
        )
        room = self.size.width - label.cell_len
        bindings, cut = self.fitting_bindings(room)
        for binding, enabled in bindings:
            start = line.cell_len
            line.append(f" {self.app.get_key_display(binding)} ", key_style if enabled else disabled_style)
            line.append(f"{binding.description} ", description_style if enabled else disabled_style)
            spans.append((start, line.cell_len, binding.key.split(",")[0]))
        if cut:
            line.append(MORE, disabled_style)
        if line.cell_len > room:
            line.truncate(max(0, room))
        if palette is not None:
            line.append(" " * max(0, room - line.cell_len))
            spans.append((line.cell_len, line.cell_len + label.cell_len, palette.key))
            line.append_text(label)
        self._spans = spans
        return line

    def _palette_binding(self) -> Binding | None:
        if not self.app.ENABLE_COMMAND_PALETTE:
            return None
        active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return active.binding if active is not None else None

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
