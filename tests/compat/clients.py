"""The official clients as processes: where their builds are, how one is run (its environment,
the network guard, a pseudo-terminal for the interactive ones) and what a run gives (a Result).

Part of the harness in ``tests/compat/official_clients.py`` (its docstring says how it works).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLI_ENV = "POCKETENV_OFFICIAL_CLI"
SDK_ENV = "POCKETENV_OFFICIAL_SDK"

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"

# The whole run stops starting new steps after this many seconds (each step has its own
# timeout too); steps left over are failed as such.
DEFAULT_BUDGET = 420.0
CLI_TIMEOUT = 60.0

# Dummy credentials: `create --provider X` refuses to run without them (src/cmd/create.ts);
# the CLI seals each with the backend's public key before sending it.
PROVIDER_CREDENTIALS: dict[str, str] = {
    "SPRITE_TOKEN": "compat-sprite-token-0123456789",
    "DAYTONA_API_KEY": "compat-daytona-key-0123456789",
    "DAYTONA_ORGANIZATION_ID": "compat-daytona-org",
    "DENO_DEPLOY_TOKEN": "compat-deno-token-0123456789",
    "VERCEL_API_TOKEN": "compat-vercel-token-0123456789",
    "VERCEL_PROJECT_ID": "compat-vercel-project",
    "VERCEL_TEAM_ID": "compat-vercel-team",
    "MODAL_TOKEN_ID": "compat-modal-id-0123456789",
    "MODAL_TOKEN_SECRET": "compat-modal-secret-0123456789",
    "E2B_API_KEY": "compat-e2b-key-0123456789",
    "HOPX_API_KEY": "compat-hopx-key-0123456789",
    "RUNLOOP_API_KEY": "compat-runloop-key-0123456789",
    "API_KEY": "compat-api-key",  # example/builder.ts reads it
}

# Every provider the CLI accepts (src/cmd/create.ts), cloudflare being its default.
PROVIDERS = ("cloudflare", "sprites", "daytona", "vercel", "deno", "modal", "e2b", "hopx", "runloop", "blaxel")
# One shell session per terminal family of src/cmd/ssh/index.ts: cloudflare (its worker's
# binary protocol), sprites (TTY URL), vercel (PTY URL), daytona (POST /ssh/connect).
CONSOLE_PROVIDERS = ("cloudflare", "sprites", "daytona", "vercel")

MAIN = "compat-cloudflare"  # the sandbox most commands run on
SECOND = "compat-sprites"  # the other end of `copy`
EXAMPLE_SANDBOX = "ruinous-straw-wz8n"  # the name example/{backup,list,start}.ts look up

SDK_EXAMPLES = ("backup", "list", "start", "exec", "files", "ports", "services", "builder", "restore")

SDK_PREAMBLE = (
    "Sandbox.configure({ baseUrl: process.env.POCKETENV_API_URL, storageUrl: "
    "process.env.POCKETENV_STORAGE_URL, token: process.env.POCKETENV_TOKEN, publicKey: "
    "process.env.POCKETENV_PUBLIC_KEY });\n"
)

# What is not run, and why: each would reach a hosted host (or needs a hosted account).
# A precondition of this machine, not of the hosted service: the local backend serves VS Code
# with the host's code-server, which is not installed here (no Debian package; its npm
# package fetches parts from GitHub at install time, which this machine cannot reach).
NEEDS_CODE_SERVER = (
    "needs code-server on this machine: the local backend runs VS Code with the host's code-server "
    "(pocketenv_tui/local/http/handlers/ports.py); without it exposeVscode answers 400 CodeServerNotFound"
)
HOSTED_ONLY: dict[str, str] = {
    "cli login": (
        "needs hosted: logs in with an AT Proto account through the hosted OAuth flow "
        "(src/cmd/login.ts:33 POSTs /login and line 46 opens the authorize URL it returns; "
        "line 15 waits for the token on port 6997)"
    ),
    "cli copy (local to sandbox)": (
        "needs hosted: uploads to the SDK's default storage host https://sandbox.pocketenv.io "
        "(the CLI's configureSdk, src/lib/sdk.ts:7-11, passes no storageUrl; SDK "
        "src/api-client/api-client.ts:1,19 and src/copy.ts:101)"
    ),
    "cli copy (sandbox to local)": (
        "needs hosted: downloads from the SDK's default storage host https://sandbox.pocketenv.io "
        "(src/lib/sdk.ts:7-11 passes no storageUrl; SDK src/copy.ts:121)"
    ),
    "cli backup create": (
        "would reach https://api.pocketenv.io: src/cmd/backup.ts never calls configureSdk(), so "
        "Sandbox.get() (line 46) builds its client with the SDK's DEFAULT_BASE_URL "
        "(SDK src/sandbox.ts:201-206), ignoring POCKETENV_API_URL"
    ),
    "cli backup list": (
        "would reach https://api.pocketenv.io: src/cmd/backup.ts:79 calls Sandbox.get() without "
        "configureSdk() (SDK src/sandbox.ts:201-206 then uses DEFAULT_BASE_URL)"
    ),
    "cli backup restore": (
        "would reach https://api.pocketenv.io: src/cmd/backup.ts:70 calls Sandbox.restoreBackup() "
        "without configureSdk() (SDK src/sandbox.ts:201-206 then uses DEFAULT_BASE_URL)"
    ),
    "sdk example/builder.ts": (
        "would reach https://api.pocketenv.io: it calls .token() but not .baseUrl(), and "
        "Sandbox.create() with a token builds a new client on DEFAULT_BASE_URL "
        "(SDK src/sandbox.ts:240-245), whatever configure() said"
    ),
    "sdk example/restore.ts": (
        "needs hosted: restores the hosted backup f9b02d36-3d81-4557-a081-e76dd9930e8a, which "
        "exists only on the hosted service"
    ),
}

# Node's warning about the CLI's `import ... assert { type: "json" }` (src/index.ts:2).
_NODE_NOISE = re.compile(
    r"^\(node:\d+\) V8: .*'assert' is deprecated.*\n(\(Use `node --trace-warnings .*\n)?", re.M
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]")
# How the CLI prints an error: consola's badge (" ERROR ", "✖", "[error]") or its own words.
_ERROR_LINE = re.compile(r"(^|\s)(ERROR|\[error\]|✖)\s|Failed to |Error: |API error \d|Terminal error|SSH connection failed|WebSocket error", re.M)

GUARD_JS = r"""'use strict';
// Written by tests/compat/official_clients.py: refuses every connection that would leave
// this machine (only loopback hosts and unix sockets are allowed), before any packet is sent.
const net = require('node:net');
const dns = require('node:dns');
const fs = require('node:fs');
const LOG = process.env.COMPAT_GUARD_LOG;
function isLocal(host) {
  if (host === undefined || host === null || host === '') return true;
  const h = String(host).replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
function note(what) {
  if (!LOG) return;
  try { fs.appendFileSync(LOG, `${process.pid} ${what}\n`); } catch (e) { /* ignore */ }
}
function refused(what, code) {
  note(`blocked ${what}`);
  return Object.assign(new Error(`compat harness: ${what} refused (only loopback is allowed)`), { code });
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0];
  let host;
  let path;
  if (first !== null && typeof first === 'object') { host = first.host; path = first.path; }
  else if (typeof first === 'string' && !/^\d+$/.test(first)) { path = first; }
  else if (typeof args[1] === 'string') { host = args[1]; }
  if (!path && !isLocal(host)) {  // as node does: a non-empty path is a unix socket
    const err = refused(`connection to ${host}`, 'ECONNREFUSED');
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (!isLocal(hostname)) {
    const err = refused(`DNS lookup of ${hostname}`, 'ENOTFOUND');
    const callback = rest[rest.length - 1];
    if (typeof callback === 'function') process.nextTick(() => callback(err));
    return {};
  }
  return lookup.call(this, hostname, ...rest);
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = async function (hostname, ...rest) {
  if (!isLocal(hostname)) throw refused(`DNS lookup of ${hostname}`, 'ENOTFOUND');
  return lookupPromise.call(this, hostname, ...rest);
};
"""


# ---------------------------------------------------------------------------------------------
# Where the clients are


@dataclass(frozen=True)
class ClientPaths:
    cli: Path  # apps/cli of the pocketenv repository
    sdk: Path  # the pocketenv-js repository

    @property
    def cli_tsx(self) -> Path:
        return self.cli / "node_modules" / ".bin" / "tsx"

    @property
    def sdk_tsx(self) -> Path:
        return self.sdk / "node_modules" / ".bin" / "tsx"


def client_paths_from_env(environ: Mapping[str, str] | None = None) -> ClientPaths | None:
    environ = os.environ if environ is None else environ
    cli, sdk = environ.get(CLI_ENV), environ.get(SDK_ENV)
    if not cli or not sdk:
        return None
    return ClientPaths(cli=Path(cli).resolve(), sdk=Path(sdk).resolve())


def unavailable_reason(paths: ClientPaths | None) -> str | None:
    """Why the official clients cannot be run (None when they can)."""
    if paths is None:
        return (
            f"set {CLI_ENV} (a built checkout of pocketenv's apps/cli) and {SDK_ENV} (a built "
            "checkout of pocketenv-js) to run the official clients; see tests/compat/official_clients.py"
        )
    if shutil.which("node") is None:
        return "node is not on PATH"
    checks = [
        (paths.cli / "src" / "index.ts", f"{CLI_ENV}={paths.cli} has no src/index.ts (not apps/cli?)"),
        (paths.cli_tsx, f"{paths.cli} is not built: no node_modules/.bin/tsx (run npm install there)"),
        (paths.sdk / "src" / "sandbox.ts", f"{SDK_ENV}={paths.sdk} has no src/sandbox.ts (not pocketenv-js?)"),
        (paths.sdk / "dist" / "index.js", f"{paths.sdk} is not built: no dist/index.js (npx tsc -p tsconfig.build.json)"),
        (paths.sdk_tsx, f"{paths.sdk} has no node_modules/.bin/tsx (npm install --no-save tsx)"),
    ]
    for path, reason in checks:
        if not path.exists():
            return reason
    linked = paths.cli / "node_modules" / "@pocketenv" / "sdk"
    if not linked.exists() or linked.resolve() != paths.sdk:
        return (
            f"the CLI's @pocketenv/sdk ({linked}) is not the SDK at {paths.sdk}: run "
            f"npm pkg set 'dependencies.@pocketenv/sdk=file:{paths.sdk}' && npm install in {paths.cli}"
        )
    missing = [name for name in SDK_EXAMPLES if not (paths.sdk / "example" / f"{name}.ts").exists()]
    if missing:
        return f"{paths.sdk}/example lacks {', '.join(missing)}"
    return None


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    id: str
    status: str
    command: str = ""
    exit_code: int | None = None
    output: str = ""
    detail: str = ""
    seconds: float = 0.0

    def report(self) -> str:
        lines = [f"{self.id}: {self.status}" + (f" ({self.detail})" if self.detail else "")]
        if self.command:
            lines.append(f"command: {self.command}  [exit {self.exit_code}, {self.seconds:.1f}s]")
        if self.output.strip():
            lines.append("output:")
            lines.extend("  " + line for line in self.output.rstrip().splitlines())
        return "\n".join(lines)


@dataclass
class Proc:
    """One client process: how it was run, how it ended, what it printed (cleaned)."""

    command: str
    exit_code: int | None
    output: str
    seconds: float
    blocked: list[str] = field(default_factory=list)  # hosts the network guard refused
    notes: list[str] = field(default_factory=list)


class StepFailed(Exception):
    """A step cannot go on (a check failed, or a step it depends on did)."""


def clean(raw: str) -> str:
    text = _ANSI.sub("", raw.replace("\r\n", "\n"))
    # What a terminal shows: a carriage return inside a line starts it over.
    text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))
    return _NODE_NOISE.sub("", text)


# ---------------------------------------------------------------------------------------------
# A pseudo-terminal session


class PtySession:
    """A process on a pseudo-terminal: ``send`` types, ``expect`` waits for output."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, cols: int = 120, rows: int = 40):
        import fcntl
        import struct
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self._master = master
        self._raw = bytearray()
        self.process = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=dict(env),
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self._eof = False

    @property
    def text(self) -> str:
        return self.text_from(0)

    def text_from(self, mark: int) -> str:
        """What came from ``mark`` (a ``mark()``) on, cleaned."""
        return clean(bytes(self._raw[mark:]).decode("utf-8", "replace"))

    def mark(self) -> int:
        return len(self._raw)

    def _pump(self, timeout: float) -> None:
        if self._eof:
            time.sleep(min(timeout, 0.05))
            return
        ready, _, _ = select.select([self._master], [], [], max(timeout, 0))
        if ready:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the other side is closed
                data = b""
            if data:
                self._raw.extend(data)
            else:
                self._eof = True

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, data)

    def expect(self, pattern: str, timeout: float, *, after: int = 0) -> re.Match[str] | None:
        """The first match of ``pattern`` in the output from ``after`` (a ``mark()``) on."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text_from(after))
            if found or time.monotonic() >= deadline:
                return found
            if self._eof and self.process.poll() is not None:
                return regex.search(self.text_from(after))
            self._pump(min(0.1, deadline - time.monotonic()))

    def settle(self, quiet: float, timeout: float) -> None:
        """Read until nothing came for ``quiet`` seconds (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._eof:
            before = len(self._raw)
            self._pump(min(quiet, deadline - time.monotonic()))
            if len(self._raw) == before:
                return

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.settle(0.2, 1.0)
                return self.process.returncode
            self._pump(0.1)
        return self.process.poll()

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.settle(0.1, 0.5)
        os.close(self._master)


