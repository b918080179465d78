"""KeyFooter: the keys of the focused context on one line, drawn by a single widget.

Textual's Footer mounts one widget per key and re-mounts all of them whenever the bindings
change (focus moves, a screen mounts), which costs about a tenth of a second during start-up.
This footer only repaints: it reads ``screen.active_bindings`` in ``render`` and keeps the
column span of every key so a click still runs it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget


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

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        disabled_style = self.get_component_rich_style("key-footer--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        for binding, enabled in self.shown_bindings():
            start = line.cell_len
            line.append(f" {self.app.get_key_display(binding)} ", key_style if enabled else disabled_style)
            line.append(f"{binding.description} ", description_style if enabled else disabled_style)
            spans.append((start, line.cell_len, binding.key.split(",")[0]))
        palette = self._palette_binding()
        if palette is not None:
            label = Text.assemble(
                (f" {self.app.get_key_display(palette)} ", key_style),
                (f"{palette.description} ", description_style),
            )
            room = self.size.width - label.cell_len
            if line.cell_len > room:
                line.truncate(max(0, room - 2))
                line.append("… ")
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
