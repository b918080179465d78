"""How each terminal dialect frames output, input and the end of a shell (reference/terminal.md).

* ``"pty"`` and ``"tty"``: everything travels in text frames. Output is text; input is text; a
  frame that is the JSON object ``{"type":"resize","cols":c,"rows":r}`` is a resize. No status
  messages: close 1000 "exit" means the shell ended, 1008 a bad token, 1011 a session error.
* ``"ssh"``: as pty, except that each output frame is the base64 of a chunk of raw bytes (so
  nothing is lost to per-frame UTF-8 decoding), the server replays the output so far on
  attach, the shell's end is close 1000 "closed", and 1011 "Session not found" says the
  session id is unknown (a new one has to be made over HTTP).
* ``"cf"``: output and input are binary frames; text frames are JSON status (``ready``,
  ``error``, ``exit`` with ``code``) from the server and JSON control (``resize``, ``ack``)
  from us. On open the server sends a replay of recent output, then ``ready``; nothing is
  sent before ``ready``.

Only framing lives here; :mod:`.session` does the connecting, reconnecting and flow control.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Literal

Dialect = Literal["pty", "tty", "ssh", "cf"]
DIALECTS: tuple[Dialect, ...] = ("pty", "tty", "ssh", "cf")

_EXIT_REASON = re.compile(r"^exit(?:\D+(-?\d+))?", re.IGNORECASE)
SESSION_NOT_FOUND = "Session not found"


def check_dialect(dialect: str) -> Dialect:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown terminal dialect {dialect!r} (expected one of {', '.join(DIALECTS)})")
    return dialect  # type: ignore[return-value]


def waits_for_ready(dialect: Dialect) -> bool:
    """Whether the server announces ``ready`` (after a replay) before we may send."""
    return dialect == "cf"


def utf8_boundary(data: bytes | bytearray, limit: int) -> int:
    """Largest cut <= limit that does not split a UTF-8 sequence (text frames must be valid)."""
    if len(data) <= limit:
        return len(data)
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the start of the character.
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut or limit


def looks_like_resize(text: str) -> bool:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("type") == "resize"


def resize_frame(cols: int, rows: int) -> str:
    return json.dumps({"type": "resize", "cols": cols, "rows": rows})


def input_frames(dialect: Dialect, pending: bytes | bytearray, limit: int) -> tuple[list[str | bytes], int]:
    """The frames that carry the start of ``pending`` (at most ``limit`` bytes), and how many
    bytes of it they carry."""
    if dialect == "cf":
        chunk = bytes(pending[:limit])
        return [chunk], len(chunk)
    cut = utf8_boundary(pending, limit)
    text = bytes(pending[:cut]).decode("utf-8", errors="replace")
    if looks_like_resize(text):
        # A paste that happens to be a resize object would be eaten by the server.
        return [text[:1], text[1:]], cut
    return [text], cut


def decode_output(dialect: Dialect, message: str | bytes) -> bytes:
    """Terminal bytes of one output frame of a text dialect (pty, tty, ssh)."""
    if isinstance(message, bytes):
        return message  # every server of these families may send raw bytes too
    if dialect == "ssh":
        try:
            return base64.b64decode(message, validate=True)
        except (binascii.Error, ValueError):
            # Not base64 after all: show it as text rather than drop it.
            return message.encode("utf-8", errors="replace")
    return message.encode("utf-8", errors="replace")


def exit_close(dialect: Dialect, code: int, reason: str) -> tuple[bool, int | None]:
    """Whether a close says the remote shell ended, and its exit code when the reason has one."""
    if code != 1000:
        return False, None
    match = _EXIT_REASON.match(reason or "")
    if match:
        return True, int(match.group(1)) if match.group(1) else None
    if dialect == "ssh" and (reason or "").strip().lower() == "closed":
        return True, None
    return False, None


def session_gone(code: int | None, reason: str) -> bool:
    """Whether a close says the server does not know the session id (ssh)."""
    return code == 1011 and (reason or "").strip() == SESSION_NOT_FOUND


@dataclass(frozen=True, slots=True)
class CfControl:
    """One JSON status frame of the cf dialect."""

    kind: str
    message: str = ""
    code: int | None = None
    signal: str | None = None
    flow: str | None = None


def parse_cf_control(text: str) -> CfControl | None:
    """The status in a cf text frame; None for chatter we do not know (a newer server's)."""
    try:
        control = json.loads(text)
    except ValueError:
        return None
    if not isinstance(control, dict) or not isinstance(control.get("type"), str):
        return None
    code = control.get("code")
    signal = control.get("signal")
    flow = control.get("flow")
    return CfControl(
        kind=control["type"],
        message=str(control.get("message") or ""),
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        signal=str(signal) if signal else None,
        flow=flow if isinstance(flow, str) else None,
    )


def replay_overlap(already: bytes, replay: bytes) -> int:
    """Length of the longest prefix of ``replay`` that ``already`` ends with.

    The cf server replays the tail of everything the shell printed; the part we received
    before the drop is a suffix of ``already`` and a prefix of ``replay``.
    """
    if not already or not replay:
        return 0
    seen, fresh = memoryview(already), memoryview(replay)
    probe_len = min(64, len(replay))
    probe = replay[:probe_len]
    # Overlaps of at least probe_len bytes contain the whole probe: let find() jump between
    # candidates, earliest first (the earliest start is the longest overlap).
    start = max(0, len(already) - len(replay))
    while (i := already.find(probe, start)) >= 0:
        k = len(already) - i
        if k <= len(replay) and seen[i:] == fresh[:k]:
            return k
        start = i + 1
    for k in range(min(probe_len - 1, len(already)), 0, -1):
        if seen[len(already) - k :] == fresh[:k]:
            return k
    return 0


class ReplayTrimmer:
    """Cuts what we already showed off the front of a replay that has no end marker (ssh).

    After a reconnect the ssh server replays its buffered output and goes straight on with
    live output, so, unlike cf's ``ready``, nothing says where the replay ends. While what
    arrived could still be the start of something we showed (it occurs in ``tail`` and does
    not reach its end), it is held back; as soon as it cannot, the longest prefix that
    ``tail`` ends with (:func:`replay_overlap`) is dropped and the rest is let through. Held
    bytes never exceed ``tail`` plus one frame. Nothing new is hidden: held output is only
    output we may have shown before, and whatever follows it resolves the question.
    """

    def __init__(self, tail: bytes) -> None:
        self._tail = tail
        self._held = bytearray()
        self.done = not tail

    def feed(self, data: bytes) -> bytes:
        """What of ``data`` (and of what was held) to show now."""
        if self.done:
            return data
        self._held += data
        held = bytes(self._held)
        # An occurrence ending before the tail's last byte may still grow into a longer overlap.
        if len(held) < len(self._tail) and self._tail.find(held, 0, len(self._tail) - 1) >= 0:
            return b""
        return self.flush()

    def flush(self) -> bytes:
        """Stop trimming: what was held, minus the part we showed already."""
        if self.done:
            return b""
        held = bytes(self._held)
        self._held.clear()
        self.done = True
        return held[replay_overlap(self._tail, held) :]
