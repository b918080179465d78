"""A fast front end for pyte's escape-sequence parser.

pyte's ``Stream`` pushes every character of every escape sequence through a generator, one
``send()`` each. :class:`FastStream` recognises the sequences real programs emit (text runs,
C0 controls, complete CSI and OSC sequences, two-byte escapes, charset designations) with
precompiled regular expressions and calls the screen directly; only malformed or exotic
input (a CSI with controls inside it, a lone OSC introducer...) goes to pyte's generator,
which then behaves exactly as stock pyte does.

Before that, two block regexes take the bulk of real output in one match each: whole lines
of text and SGR ended by CR LF (handed over as a list of lines), and runs of text, SGR,
cursor movement, erase, cursor hide/show and newlines (handed over as the tokens of one
``findall``); see :mod:`~pocketenv_tui.terminal.screen.fast`.

Sequences cut by a chunk boundary are carried over: the unfinished tail is kept and parsed
with the next chunk, so splitting the input anywhere gives the same result as feeding it
whole.

Where pyte draws garbage, this parser does what xterm does instead:
- CSI sequences with intermediates (``CSI ! p``, ``CSI 2 SP q``) or a ``<``/``=``/``>``
  prefix are consumed; ``CSI > c`` (secondary device attributes) is answered.
- ``OSC 10 ; ?`` and ``OSC 11 ; ?`` (default colour queries) are answered.
- SGR with colon sub-parameters (``CSI 38:2::255:0:0 m``, ``CSI 4:3 m``) is understood.
- DCS, SOS, PM and APC strings are swallowed up to their terminator.
- ``ESC ( 0`` (DEC line drawing), SO and SI work in UTF-8 mode, as in xterm, so ncurses
  boxes draw as lines.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyte
from pyte import control as ctrl

from .style import DEFAULT_STYLE, Style, apply_sgr, compute_sgr

if TYPE_CHECKING:
    from .emulator import TerminalScreen

ESC = ctrl.ESC
CSI_C1 = ctrl.CSI_C1
OSC_C1 = ctrl.OSC_C1

_TEXT = pyte.Stream._text_pattern
_INTERMEDIATES = r"[ !\"#$%&()*+,\-./]"  # 0x20-0x2f minus "'", which pyte uses as a final byte
_CSI = re.compile(rf"(?:\x1b\[|\x9b)([<=>?]?)([0-9;:]*)({_INTERMEDIATES}*)([\x40-\x7e])")
_OSC = re.compile(r"(?:\x1b\]|\x9d)([^\x07\x1b\x9c]*)(?:\x07|\x1b\\|\x9c)")
# Tails that may become a complete sequence once more input arrives.
_INCOMPLETE = re.compile(
    rf"\x1b|\x1b[()#%]|(?:\x1b\[|\x9b)[<=>?]?[0-9;:]*{_INTERMEDIATES}*"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*\x1b?"
)
# The commonest tokens of real output: text (anything but C0/C1 controls), SGR / cursor /
# erase sequences without a private marker, cursor hide/show, and newlines. A block of them goes to the screen
# as one batch of tokens (fast.run_tokens).
SIMPLE_CSI_FINALS = "mHfKJABCDGd"
_TEXT_CHAR = r"[\x20-\x7e\xa0-\U0010ffff]"  # no C0 or C1 controls
_SIMPLE_BLOCK = re.compile(  # possessive: nothing to backtrack into, and 4x faster
    rf"(?:{_TEXT_CHAR}++|\x1b\[[0-9;]*+[{SIMPLE_CSI_FINALS}]|\r\n?|\n|\x1b\[\?25[hl])++"
)
# Whole lines of styled text (tabs included), each ended by CR LF: what a shell mostly prints. The block
# goes to the screen as a list of lines (fast.run_lines); no tokens are built.
_LINES_BLOCK = re.compile(rf"(?:(?:{_TEXT_CHAR}++|\t|\x1b\[[0-9;]*+m)*+\r\n)++")
# Groups: (cup, run, end, params, final, newline). A styled run (text and SGR) takes the
# cursor position before it and the CR LF or erase-to-end-of-line after it along, so a line
# of shell output or a row of a full-screen redraw is one token.
_SIMPLE_TOKEN = re.compile(
    rf"(\x1b\[[0-9;]*[Hf])?((?:{_TEXT_CHAR}++|\x1b\[[0-9;]*+m)++)(\r\n|\x1b\[0?K)?"
    # Cursor hide/show (around every redraw of a full-screen program) has params "?25".
    rf"|\x1b\[([0-9;]*+(?=[{SIMPLE_CSI_FINALS}])|\?25(?=[hl]))([{SIMPLE_CSI_FINALS}hl])"
    r"|(\r\n?|\n)"
)
_STRING_END = re.compile(r"[\x1b\x07\x18\x1a\x9c]")
_MAX_CARRY = 4096

_SIMPLE_ESCAPES = {
    "c": "reset",
    "D": "index",
    "E": "linefeed",
    "M": "reverse_index",
    "H": "set_tab_stop",
    "7": "save_cursor",
    "8": "restore_cursor",
}


def _no_match(data: str, pos: int) -> None:
    return None


def _parse_params(text: str) -> tuple[int, ...]:
    # pyte's rules: empty parameters are 0 and every value is capped at 9999.
    return tuple(min(int(part or 0), 9999) for part in text.split(";"))


def _parse_colon_sgr(text: str) -> tuple[int, ...]:
    """SGR parameters with ITU T.416 colon sub-parameters, flattened to the ';' form."""
    out: list[int] = []
    for group in text.split(";"):
        if ":" not in group:
            out.append(int(group or 0))
            continue
        sub = [int(part or 0) for part in group.split(":")]
        head = sub[0]
        if head in (38, 48) and len(sub) >= 3:
            if sub[1] == 5:
                out += [head, 5, sub[2]]
            elif sub[1] == 2:
                # 38:2:<colour space>:r:g:b, with the colour space often left out.
                rgb = sub[3:6] if len(sub) >= 6 else sub[2:5]
                if len(rgb) == 3:
                    out += [head, 2, *rgb]
        elif head == 4:
            # 4:0 is "no underline"; 4:1..4:5 are underline styles we draw as one.
            out.append(24 if len(sub) > 1 and sub[1] == 0 else 4)
        elif head != 58:  # 58 is underline colour, which a cell cannot carry
            out.append(head)
    return tuple(min(value, 9999) for value in out)


_SGR_TEXT_CACHE: dict[tuple[Style, str], Style] = {}


def sgr_text_step(current: Style, params_text: str) -> Style:
    """The style after ``CSI <params_text> m``, uncached (for callers with their own cache)."""
    if params_text == "0" or not params_text:
        return DEFAULT_STYLE
    if ":" in params_text:
        params = _parse_colon_sgr(params_text)
    else:
        try:
            # No cap at 9999 needed: no SGR code or colour component means more than that.
            params = tuple(map(int, params_text.split(";")))
        except ValueError:  # empty parameters
            params = _parse_params(params_text)
    return compute_sgr(current, params)


def apply_sgr_text(current: Style, params_text: str) -> Style:
    """The style after ``CSI <params_text> m``; cached on the raw parameter text."""
    if params_text == "0" or not params_text:
        return DEFAULT_STYLE
    key = (current, params_text)
    style = _SGR_TEXT_CACHE.get(key)
    if style is None:
        if ":" in params_text:
            params = _parse_colon_sgr(params_text)
        else:
            params = _parse_params(params_text)
        style = apply_sgr(current, params)
        if len(_SGR_TEXT_CACHE) >= 65536:
            _SGR_TEXT_CACHE.clear()
        _SGR_TEXT_CACHE[key] = style
    return style


class FastStream(pyte.Stream):
    """Parses terminal output for a :class:`TerminalScreen` (bytes or text)."""

    # Sequences pyte leaves to ``debug`` but real programs use (ncurses' terminfo for
    # xterm-256color emits SU/SD, REP and CBT).
    csi = {
        **pyte.Stream.csi,
        "S": "scroll_up",
        "T": "scroll_down",
        "b": "repeat_last_char",
        "Z": "back_tab",
        "I": "forward_tab",
        "`": "cursor_to_column",
        "s": "save_cursor_sco",
        "u": "restore_cursor_sco",
    }

    def __init__(self, screen: TerminalScreen) -> None:
        super().__init__(screen, strict=True)
        self.utf8_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.screen = screen
        self.errors = 0
        self._carry = ""
        self._fsm_active = False
        self._in_string = False
        self._string_esc = False
        self._resume = 0
        self._param_cache: dict[str, tuple[int, ...]] = {}
        from .fast import run_lines, run_tokens  # late: fast imports this module

        self._run_tokens = run_tokens
        self._run_lines = run_lines
        self._csi_handlers: dict[str, Callable[..., Any]] = {
            final: getattr(screen, name) for final, name in self.csi.items()
        }
        self._basic_handlers: dict[str, Callable[[], Any]] = {
            char: getattr(screen, name) for char, name in self.basic.items()
        }
        self._escape_handlers: dict[str, Callable[[], Any]] = {
            char: getattr(screen, name) for char, name in _SIMPLE_ESCAPES.items()
        }

    # -- input ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:  # type: ignore[override]
        """Decode ``data`` (UTF-8 kept across chunk boundaries) and parse it."""
        if self.use_utf8:
            text = self.utf8_decoder.decode(data)
        else:
            text = data.decode("latin-1")
        self.feed_text(text)

    def select_other_charset(self, code: str) -> None:
        # ESC % @ leaves UTF-8 for Latin-1, ESC % G / ESC % 8 come back (as pyte's ByteStream).
        if code == "@":
            self.use_utf8 = False
            self.utf8_decoder.reset()
        elif code in ("G", "8"):
            self.use_utf8 = True

    def feed_text(self, data: str) -> None:
        """Parse already-decoded terminal output."""
        if self._carry:
            data = self._carry + data
            self._carry = ""
        pos = 0
        end = len(data)
        while pos < end:
            try:
                pos = self._run(data, pos)
            except Exception:
                # A bad sequence must not take the session down: skip the token that
                # failed and carry on, like a hardware terminal would.
                if self.screen.strict_errors:
                    raise
                self.errors += 1
                self._fsm_active = False
                pos = max(self._resume, pos + 1) if self._resume <= end else end

    # -- the loop ------------------------------------------------------------------------
    def _run(self, data: str, pos: int) -> int:
        end = len(data)
        screen = self.screen
        draw = screen.draw
        run_tokens = self._run_tokens
        run_lines = self._run_lines
        lines_match = _LINES_BLOCK.match
        block_match = _SIMPLE_BLOCK.match
        if not screen.fast_paths:
            lines_match = block_match = _no_match
        token_findall = _SIMPLE_TOKEN.findall
        text_match = _TEXT.match
        csi_match = _CSI.match
        basic = self._basic_handlers
        while pos < end:
            if self._in_string:
                pos = self._skip_string(data, pos)
                continue
            if self._fsm_active:
                self._resume = pos + 1
                char = data[pos]
                pos += 1
                if not char.isascii() and char.isdigit():
                    # pyte's FSM takes "²" for a parameter digit and int() then fails;
                    # like any other non-ASCII character it should end the sequence.
                    char = "\ufffd"
                self._fsm_active = not self._send_to_parser(char)
                continue
            block = lines_match(data, pos)
            if block is not None:
                stop = block.end()
                self._resume = stop
                run_lines(screen, data[pos : stop - 2].split("\r\n"))
                pos = stop
                continue
            block = block_match(data, pos)
            if block is not None:
                stop = block.end()
                # Up to the first CR LF only: whole lines after it are the lines block's
                # (a chunk that starts with the LF of a split CR LF must not turn the
                # rest of it into tokens).
                line_end = data.find("\r\n", pos, stop)
                if line_end >= 0:
                    stop = line_end + 2
                self._resume = stop
                run_tokens(screen, token_findall(data, pos, stop))
                pos = stop
                continue
            match = text_match(data, pos)
            if match is not None:
                stop = match.end()
                self._resume = stop
                draw(data[pos:stop])
                pos = stop
                continue
            char = data[pos]
            handler = basic.get(char)
            if handler is not None:
                self._resume = pos + 1
                handler()
                pos += 1
                continue
            if char == ESC or char == CSI_C1:
                match = csi_match(data, pos)
                if match is not None:
                    stop = match.end()
                    self._resume = stop
                    prefix, params_text, intermediates, final = match.groups()
                    if final == "m" and not prefix and not intermediates:
                        # SGR is the most frequent sequence by far: one cache lookup.
                        cursor = screen.cursor
                        cursor.attrs = apply_sgr_text(cursor.attrs, params_text)
                    else:
                        self._dispatch_csi(prefix, params_text, intermediates, final)
                    pos = stop
                    continue
                pos = self._escape(data, pos)
                continue
            if char == OSC_C1:
                pos = self._escape(data, pos)
                continue
            pos += 1  # NUL and DEL are ignored, as in pyte
        return pos

    def _dispatch_csi(self, prefix: str, params_text: str, intermediates: str, final: str) -> None:
        screen = self.screen
        if intermediates:
            if intermediates == "!" and final == "p":
                screen.soft_reset()
            return  # DECSCUSR, DECRQM and friends change nothing we draw
        if prefix:
            if prefix == ">" and final == "c":
                screen.report_secondary_device_attributes()
            if prefix != "?":
                return
        if ":" in params_text:
            return  # colon sub-parameters only mean something in SGR, handled in _run
        params = self.params(params_text)
        handler = self._csi_handlers.get(final, screen.debug)
        if prefix:
            handler(*params, private=True)
        else:
            handler(*params)

    def params(self, params_text: str) -> tuple[int, ...]:
        """CSI parameters as pyte reads them (cached: programs repeat the same ones)."""
        params = self._param_cache.get(params_text)
        if params is None:
            params = _parse_params(params_text)
            if len(self._param_cache) > 4096:
                self._param_cache.clear()
            self._param_cache[params_text] = params
        return params

    def _escape(self, data: str, pos: int) -> int:
        """Handle an ESC/C1 introducer that is not a complete CSI; return the next position."""
        end = len(data)
        if end - pos <= _MAX_CARRY and _INCOMPLETE.fullmatch(data, pos):
            self._carry = data[pos:]
            return end
        char = data[pos]
        if char == CSI_C1:
            self._fsm_active = True  # malformed CSI: let pyte decide, as stock pyte would
            return pos
        if char == OSC_C1 or data[pos + 1] == "]":
            return self._osc(data, pos)
        screen = self.screen
        code = data[pos + 1]
        self._resume = pos + 2
        if code == "[":
            self._fsm_active = True
            return pos
        if code in "()":
            self._resume = pos + 3
            screen.define_charset(data[pos + 2], code)
            return pos + 3
        if code in "PX^_":
            self._in_string = True  # DCS / SOS / PM / APC: nothing we display
            return pos + 2
        handler = self._escape_handlers.get(code)
        if handler is not None:
            handler()
            return pos + 2
        if code == "#":
            self._resume = pos + 3
            if data[pos + 2] == "8":
                screen.alignment_display()
            return pos + 3
        if code == "%":
            self._resume = pos + 3
            self.select_other_charset(data[pos + 2])
            return pos + 3
        if code in "=>":
            screen.app_keypad = code == "="
            return pos + 2
        screen.debug(code)
        return pos + 2

    def _osc(self, data: str, pos: int) -> int:
        match = _OSC.match(data, pos)
        body = match.group(1) if match is not None else ""
        if match is None or not body or body[0] in "RP":
            # Unterminated within the carry limit, or one of pyte's odd palette forms.
            self._fsm_active = True
            return pos
        self._resume = match.end()
        number, _, text = body.partition(";")
        if number in ("10", "11") and text == "?":
            terminator = match.group()[-1]
            self.screen.report_default_color(
                int(number), "\x07" if terminator == "\x07" else "\x1b\\"
            )
        if number in ("0", "1"):
            self.screen.set_icon_name(text)
        if number in ("0", "2"):
            self.screen.set_title(text)
        return match.end()

    def _skip_string(self, data: str, pos: int) -> int:
        if self._string_esc:
            self._string_esc = False
            if data[pos] == "\\":
                self._in_string = False
                return pos + 1
        match = _STRING_END.search(data, pos)
        if match is None:
            return len(data)
        stop = match.end()
        if match.group() != ESC:
            self._in_string = False
            return stop
        if stop == len(data):
            self._string_esc = True
            return stop
        self._in_string = False
        if data[stop] == "\\":
            return stop + 1
        return match.start()  # ESC starts a new sequence and cancels the string, as in xterm
