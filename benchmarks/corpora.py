"""Synthetic terminal output for the throughput benchmark (deterministic, fixed seeds).

Each generator returns about ``size`` bytes of what a PTY would send (lines end in CRLF):

- :func:`plain_text`: an ``ls -laR`` listing.
- :func:`colour_heavy`: ``ls --color``/compiler/log output dense with SGR changes in the 16,
  256 and truecolour forms.
- :func:`full_screen_redraws`: htop-like frames: cursor home, then every row of an 80x24
  screen rewritten with cursor addressing, colours and erase-to-end-of-line.
- :func:`mixed_unicode`: text mixing Latin, Cyrillic, CJK (wide), emoji (wide, some with
  variation selectors), combining accents and box drawing.
"""

from __future__ import annotations

import random
from collections.abc import Callable

DEFAULT_SIZE = 5_000_000

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SYLLABLES = ["lib", "src", "core", "util", "test", "data", "conf", "net", "io", "sys", "app"]
_EXTENSIONS = [".py", ".c", ".h", ".txt", ".json", ".md", ".so", ".o", ".rs", ""]


def _name(rng: random.Random) -> str:
    parts = [rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))]
    return "_".join(parts) + str(rng.randint(0, 99)) + rng.choice(_EXTENSIONS)


def _ls_line(rng: random.Random, name: str) -> str:
    kind = rng.choice("-----dl")
    perms = "".join(rng.choice(("rwx", "r-x", "r--", "rw-")) for _ in range(3))
    return (
        f"{kind}{perms} {rng.randint(1, 9):2d} user{rng.randint(1, 4)} staff "
        f"{rng.randint(0, 10**7):8d} {rng.choice(_MONTHS)} {rng.randint(1, 28):2d} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} {name}\r\n"
    )


def plain_text(size: int = DEFAULT_SIZE, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    path = "."
    while total < size:
        path = f"{path}/{_name(rng)}" if rng.random() < 0.6 and path.count("/") < 6 else "."
        block = [f"{path}:\r\n", f"total {rng.randint(0, 5000)}\r\n"]
        block += [_ls_line(rng, _name(rng)) for _ in range(rng.randint(3, 40))]
        block.append("\r\n")
        chunk = "".join(block)
        out.append(chunk)
        total += len(chunk)
    return "".join(out).encode()[:size]


def _sgr(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return f"\x1b[{rng.choice((0, 1))};{rng.randint(30, 37)}m"
    if roll < 0.5:
        return f"\x1b[{rng.randint(90, 97)}m"
    if roll < 0.75:
        return f"\x1b[38;5;{rng.randint(0, 255)}m"
    if roll < 0.9:
        return f"\x1b[38;2;{rng.randint(0, 255)};{rng.randint(0, 255)};{rng.randint(0, 255)}m"
    return f"\x1b[48;5;{rng.randint(0, 255)};{rng.choice((1, 3, 4, 7))}m"


def colour_heavy(size: int = DEFAULT_SIZE, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < size:
        segments = [f"{_sgr(rng)}{_name(rng)}\x1b[0m" for _ in range(rng.randint(2, 8))]
        line = " ".join(segments) + "\r\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def full_screen_redraws(
    size: int = DEFAULT_SIZE, seed: int = 3, columns: int = 80, lines: int = 24
) -> bytes:
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < size:
        frame = ["\x1b[?25l\x1b[H"]
        for row in range(1, lines + 1):
            if row <= 4:
                used = rng.randint(0, columns - 20)
                bar = "|" * used
                text = (
                    f"\x1b[{row};1H\x1b[1;36m{row:3d}\x1b[0m[\x1b[32m{bar}"
                    f"\x1b[0m{' ' * (columns - 20 - used)}{rng.random() * 100:5.1f}%]\x1b[K"
                )
            elif row == 5:
                text = (
                    f"\x1b[{row};1H\x1b[30;42m  PID USER      PRI  NI  VIRT   RES  CPU% Command"
                    + " " * 31
                )
            else:
                colour = rng.choice(("\x1b[0m", "\x1b[1;37m", "\x1b[36m", "\x1b[7m"))
                text = (
                    f"\x1b[{row};1H{colour}{rng.randint(1, 99999):5d} user{rng.randint(1, 4)}    "
                    f"{rng.randint(0, 39):3d} {rng.randint(-20, 19):3d} {rng.randint(0, 999):4d}M "
                    f"{rng.randint(0, 999):4d}M {rng.random() * 100:5.1f} {_name(rng)[:30]:<30}\x1b[K"
                )
            frame.append(text)
        frame.append("\x1b[0m\x1b[24;80H\x1b[?25h")
        chunk = "".join(frame)
        out.append(chunk)
        total += len(chunk)
    return "".join(out).encode()[:size]


_CJK = "漢字仮名交じり文中文字符测试한국어텍스트東京大阪"
_EMOJI = ["🙂", "🚀", "📦", "✅", "🔥", "❤️", "👍", "🐍"]
_LATIN = "Grüße façade naïve déjà vu coöperate"
_CYRILLIC = "Съешь же ещё этих мягких французских булок"
_COMBINING = ["e\u0301", "a\u0308", "o\u0302", "n\u0303", "u\u0300"]
_BOX = "┌─┬─┐│ │├─┼─┤└─┴─┘"


def mixed_unicode(size: int = DEFAULT_SIZE, seed: int = 4) -> bytes:
    rng = random.Random(seed)
    out: list[bytes] = []
    total = 0
    while total < size:
        pieces = []
        for _ in range(rng.randint(3, 8)):
            roll = rng.random()
            if roll < 0.3:
                start = rng.randint(0, len(_CJK) - 6)
                pieces.append(_CJK[start : start + rng.randint(2, 6)])
            elif roll < 0.45:
                pieces.append("".join(rng.choice(_EMOJI) for _ in range(rng.randint(1, 3))))
            elif roll < 0.6:
                pieces.append(rng.choice((_LATIN, _CYRILLIC)))
            elif roll < 0.75:
                pieces.append("".join(rng.choice(_COMBINING) for _ in range(rng.randint(1, 4))))
            elif roll < 0.85:
                pieces.append(_BOX)
            else:
                pieces.append(_name(rng))
        line = (" ".join(pieces) + "\r\n").encode()
        out.append(line)
        total += len(line)
    data = b"".join(out)[:size]
    # Never end inside a UTF-8 sequence: every tool in the benchmark then sees whole text.
    return data.decode("utf-8", "ignore").encode()


CORPORA: dict[str, Callable[..., bytes]] = {
    "plain text": plain_text,
    "colour-heavy SGR": colour_heavy,
    "full-screen redraws": full_screen_redraws,
    "mixed Unicode": mixed_unicode,
}
