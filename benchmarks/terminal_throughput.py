"""Terminal parsing throughput: TerminalScreen vs stock pyte vs xterm.js (headless).

Run:  .venv/bin/python benchmarks/terminal_throughput.py [--size BYTES] [--repeat N]

Every engine parses the same generated corpora (see corpora.py) in 16 KiB chunks on an 80x24
screen, and the table shows MB/s (10^6 bytes per second of input) and ratios:

- TerminalScreen with 10,000 rows of scrollback, on the whole corpus (best of --repeat runs).
- pyte.Screen + ByteStream on the first --pyte-slice bytes (it is slow; the slice keeps the
  run short and its MB/s is comparable because the corpora are homogeneous).
- pyte.HistoryScreen(history=10000) + ByteStream on the first --history-slice bytes.
- @xterm/headless through node, when node and the package are available: the package is
  installed once into benchmarks/.node (ignored by git). Timing covers ``terminal.write``
  of every chunk up to the last write callback, best of --repeat runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyte

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpora import CORPORA  # noqa: E402

from pocketenv_tui.terminal.screen import TerminalScreen  # noqa: E402

CHUNK = 16384
COLUMNS, LINES, HISTORY = 80, 24, 10000
NODE_DIR = HERE / ".node"

_NODE_SCRIPT = r"""
const fs = require('fs');
const { Terminal } = require('@xterm/headless');
const [file, chunkSize, repeat] = [process.argv[2], +process.argv[3], +process.argv[4]];
const data = fs.readFileSync(file);
const chunks = [];
for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
async function once() {
  const term = new Terminal({ cols: 80, rows: 24, scrollback: 10000, allowProposedApi: true });
  const start = process.hrtime.bigint();
  await new Promise((resolve) => {
    chunks.forEach((chunk, i) => term.write(chunk, i === chunks.length - 1 ? resolve : undefined));
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  term.dispose();
  return seconds;
}
(async () => {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) best = Math.min(best, await once());
  console.log(JSON.stringify({ seconds: best, bytes: data.length }));
})();
"""


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _time_feed(make: Callable[[], Callable[[bytes], object]], data: bytes, repeat: int) -> float:
    """Best wall time over ``repeat`` runs of feeding ``data`` to a fresh consumer."""
    chunks = _chunks(data)
    best = float("inf")
    for _ in range(repeat):
        feed = make()
        gc.collect()
        start = time.perf_counter()
        for chunk in chunks:
            feed(chunk)
        best = min(best, time.perf_counter() - start)
    return best


def _terminal_screen() -> Callable[[bytes], object]:
    return TerminalScreen(COLUMNS, LINES, history=HISTORY).feed


def _pyte_screen() -> Callable[[bytes], object]:
    return pyte.ByteStream(pyte.Screen(COLUMNS, LINES)).feed


def _pyte_history_screen() -> Callable[[bytes], object]:
    return pyte.ByteStream(pyte.HistoryScreen(COLUMNS, LINES, history=HISTORY)).feed


def _ensure_xterm() -> str | None:
    """Path of a node able to load @xterm/headless, installing it if needed; else None."""
    node = shutil.which("node")
    if node is None:
        return None
    if not (NODE_DIR / "node_modules" / "@xterm" / "headless").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            return None
        NODE_DIR.mkdir(exist_ok=True)
        (NODE_DIR / ".gitignore").write_text("*\n")
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", "@xterm/headless"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            print(f"(xterm.js skipped: npm install failed: {result.stderr.strip()[:200]})")
            return None
    return node


def _xterm_seconds(node: str, data: bytes, repeat: int) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.bin"
        corpus.write_bytes(data)
        script = NODE_DIR / "bench_xterm.js"
        script.write_text(_NODE_SCRIPT)
        result = subprocess.run(
            [node, str(script), str(corpus), str(CHUNK), str(repeat)],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if result.returncode != 0:
        print(f"(xterm.js run failed: {result.stderr.strip()[:200]})")
        return None
    return float(json.loads(result.stdout)["seconds"])


def _rate(size: int, seconds: float | None) -> float | None:
    return None if seconds is None or seconds <= 0 else size / seconds / 1e6


def _fmt(value: float | None, suffix: str = "") -> str:
    return "skipped" if value is None else f"{value:,.2f}{suffix}"


def _same_display(data: bytes) -> bool:
    ours = TerminalScreen(COLUMNS, LINES)
    ours.feed(data)
    stock = pyte.Screen(COLUMNS, LINES)
    pyte.ByteStream(stock).feed(data)
    try:
        return ours.display == stock.display
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5_000_000, help="bytes per corpus")
    parser.add_argument("--pyte-slice", type=int, default=1_000_000)
    parser.add_argument("--history-slice", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-xterm", action="store_true", help="skip the node comparison")
    args = parser.parse_args(argv)

    node = None if args.no_xterm else _ensure_xterm()
    print(
        f"80x24 screen, {CHUNK // 1024} KiB chunks; TerminalScreen and xterm.js on "
        f"{args.size / 1e6:.1f} MB per corpus (best of {args.repeat}); pyte.Screen on the "
        f"first {args.pyte_slice / 1e6:.1f} MB and pyte.HistoryScreen on the first "
        f"{args.history_slice / 1e6:.1f} MB (one run each; they are slow)."
    )
    if node is None:
        print("xterm.js: skipped (node or @xterm/headless unavailable)")
    header = (
        f"{'corpus':<21} {'TerminalScreen':>14} {'pyte.Screen':>12} {'HistoryScreen':>13} "
        f"{'xterm.js':>9} {'x Screen':>9} {'x History':>9} {'x xterm':>8} {'display==pyte':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, generate in CORPORA.items():
        data = generate(args.size)
        ours = _rate(len(data), _time_feed(_terminal_screen, data, args.repeat))
        piece = data[: args.pyte_slice]
        stock = _rate(len(piece), _time_feed(_pyte_screen, piece, 1))
        piece = data[: args.history_slice]
        history = _rate(len(piece), _time_feed(_pyte_history_screen, piece, 1))
        xterm = _rate(len(data), _xterm_seconds(node, data, args.repeat)) if node else None
        same = _same_display(data[: args.history_slice])

        def ratio(other: float | None, ours: float | None = ours) -> str:
            return "-" if not other or not ours else f"{ours / other:.1f}x"

        print(
            f"{name:<21} {_fmt(ours):>14} {_fmt(stock):>12} {_fmt(history):>13} "
            f"{_fmt(xterm):>9} {ratio(stock):>9} {ratio(history):>9} {ratio(xterm):>8} "
            f"{'yes' if same else 'no':>13}"
        )
    print(
        "MB/s = 10^6 input bytes per second. 'x Screen' etc. = TerminalScreen's speed divided "
        "by the other engine's. 'display==pyte' compares the final screens after the "
        "HistoryScreen slice ('no' is expected where pyte drops text after a zero-width "
        "character, e.g. an emoji variation selector)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
