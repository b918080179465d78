"""5 MB of output into the widget while keys are pressed: input keeps flowing, the end is right."""

from __future__ import annotations

import asyncio

from rich.color import Color
from textual import events
from textual.app import App, ComposeResult

from pocketenv_tui.terminal.widget import TerminalView

FLOOD_BYTES = 5 * 1024 * 1024
KEYS = list("abcdefghijklmnopqrstuvwxyz0123456789")
EARLY_KEYS = 2  # keys that must be handled while output is still pending


def flood_payload() -> tuple[bytes, int]:
    """Coloured numbered lines (about 100 bytes each) adding up to 5 MB, and the line count."""
    lines = []
    size = 0
    n = 0
    while size < FLOOD_BYTES:
        line = (
            b"\x1b[3%dmline %07d\x1b[0m " % (n % 8, n)
            + b"\x1b[1mbold\x1b[0m "
            + b"x" * 60
            + b"\r\n"
        )
        lines.append(line)
        size += len(line)
        n += 1
    return b"".join(lines), n


class FloodApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        # The fake shell: a plain callable recording what the widget sends, with how much
        # output was still waiting to be parsed at that moment.
        self.received: list[tuple[bytes, int]] = []
        self.rendered_lines = 0

    def compose(self) -> ComposeResult:
        yield CountingView(input_sink=self.record)

    def record(self, data: bytes) -> None:
        self.received.append((data, self.query_one(TerminalView).pending_output))


class CountingView(TerminalView):
    """Counts row renders, to check that repaints do not follow chunk arrivals."""

    def render_line(self, y: int):
        self.app.rendered_lines += 1
        return super().render_line(y)


async def test_flood_keeps_keys_flowing_and_ends_on_the_right_lines() -> None:
    payload, count = flood_payload()
    app = FloodApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        await pilot.pause()

        # 5 MB arrives as 4 KiB frames (as a WebSocket would deliver it), all before the app
        # gets a chance to parse any of it; keys are pressed while it is being worked off.
        chunks = [payload[i : i + 4096] for i in range(0, len(payload), 4096)]
        for chunk in chunks:
            view.write(chunk)
        renders_before = app.rendered_lines
        for key in KEYS:
            # What the driver does when the real terminal delivers a key; Pilot.press would
            # also wait for the whole process to go idle, which a flood never lets happen.
            app.post_message(events.Key(key, key))
            await asyncio.sleep(0.01)  # a fast typist's pace
        for _ in range(6000):
            if not view.pending_output:
                break
            await pilot.pause(0.01)
        await pilot.pause(0.05)

        typed = b"".join(data for data, _ in app.received)
        assert typed == "".join(KEYS).encode()  # every key, in order
        # Keys are pressed while 5 MB waits to be parsed: the first must be handled at once,
        # with output still pending, and each key handled during the flood must find less
        # pending than the one before (parsing progresses between keys, keys are not queued
        # until the flood is over). How many keys land mid-flood depends on the machine's
        # speed (a fast one parses the 5 MB within a few keys), so at least two are asked for.
        pending_at_key = [pending for _, pending in app.received]
        during = [pending for pending in pending_at_key if pending > 0]
        assert pending_at_key[0] > 0, f"the first key waited for the flood: {pending_at_key}"
        assert len(during) >= EARLY_KEYS, f"keys were held up behind the flood: {pending_at_key}"
        assert during == sorted(during, reverse=True) and len(set(during)) == len(during)
        assert pending_at_key[: len(during)] == during  # once the flood is done it stays done
        assert view.pending_output == 0

        height = view.size.height
        last = count - 1
        # The cursor sits on the empty row after the final CRLF; above it are the last lines.
        expected = [f"line {n:07d} bold " + "x" * 60 for n in range(last - height + 2, last + 1)]
        assert [line.rstrip() for line in view.terminal.display[:-1]] == expected
        rendered = [view.render_line(y).text.rstrip() for y in range(height - 1)]
        assert rendered == expected
        colour = [s.style.color for s in view.render_line(height - 2) if s.text.startswith("line")]
        assert colour == [Color.from_ansi(last % 8)]
        assert view.terminal.history_size == min(10000, count + 1 - height)

        # Repaints are per frame, not per chunk: far fewer row renders than chunks x rows.
        renders = app.rendered_lines - renders_before
        assert renders < len(chunks) * height / 4
