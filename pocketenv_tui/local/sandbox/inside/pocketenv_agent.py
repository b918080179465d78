"""The sandbox's agent: PID 1 inside a local sandbox, and the only way the server acts in it.

This file runs *inside* the sandbox (standard library only; it cannot import pocketenv_tui).
The server starts it as the sandbox's first process, already inside every namespace, as the
sandbox's uid, under its seccomp filter and in its cgroups. Whatever the server wants done in
the sandbox it asks this agent to do, over the one socket it was born with (fd
``POCKETENV_AGENT_FD``, a SOCK_SEQPACKET socketpair with no name anywhere): so nothing the
server does in a sandbox ever runs with more privilege than the sandbox's own code, and the
server never resolves a path the sandbox controls.

Protocol: one JSON object per packet, file descriptors alongside as SCM_RIGHTS.

Requests (server -> agent), each with an integer ``id`` answered by ``{"id", "ok", ...}``:

``spawn``    ``argv``, ``env`` (added to the agent's own environment, which is the sandbox's),
             optional ``unset`` (names then removed from it), ``cwd``, ``stdio`` (three indexes into the fds sent along, or null for
             /dev/null), optional ``pty`` ``{"cols", "rows"}``: a new PTY whose master fd
             comes back with the answer. Answer: ``pid``. Later: ``{"event": "exit",
             "spawn": id, "code": n}`` (128 + signal for a signal death).
``signal``   ``spawn`` (an earlier spawn's id), ``sig``: the signal goes to that process,
             its process group and every descendant.
``connect``  ``port``: a TCP connection to that port on the sandbox's loopback (127.0.0.1,
             then ::1), whose socket comes back with the answer. This is how previews reach
             a server that listens inside the sandbox's own network namespace.

The agent also sends ``{"event": "ready"}`` once, when it is listening.

The agent makes itself non-dumpable, so code in the sandbox (same uid) cannot ptrace it or
read its memory; as PID 1 of the namespace it cannot be killed from inside either. When the
socket closes (the server went away or stopped the sandbox) the agent exits, and the kernel
ends every process of the namespace with it.
"""

from __future__ import annotations

import array
import ctypes
import errno
import json
import os
import selectors
import signal
import socket
import struct
import sys

FD_ENV = "POCKETENV_AGENT_FD"
SUBREAPER_ENV = "POCKETENV_AGENT_SUBREAPER"  # set when the agent is not PID 1 of a namespace
MAX_PACKET = 1 << 20
MAX_FDS = 4
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
TIOCSWINSZ = 0x5414
# Python ignores these at start-up; spawned programs must get the default actions back.
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGTERM, signal.SIGINT)


def _prctl(option: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, process group, session) from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(fields[1]), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def _tree(root: int) -> set[int]:
    """``root``, its descendants and every member of their process groups and sessions."""
    table: dict[int, tuple[int, int, int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat is not None:
                table[int(name)] = stat
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, pgrp, sid) in table.items():
            if pid not in tree and (ppid in tree or pgrp in tree or sid in tree):
                tree.add(pid)
                grew = True
    tree.discard(os.getpid())
    tree.discard(1)
    return tree


def signal_tree(root: int, sig: int) -> None:
    targets = _tree(root)
    if sig == signal.SIGKILL:
        # Freeze first so nothing forks away between the look and the kill.
        for pid in targets:
            _kill(pid, signal.SIGSTOP)
        targets |= _tree(root)
    for pid in targets:
        _kill(pid, sig)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Agent:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.selector = selectors.DefaultSelector()
        self.outbox: list[tuple[bytes, list[int]]] = []
        self.spawns: dict[int, int] = {}  # pid -> spawn id
        self.connects: dict[socket.socket, tuple[int, list[tuple[int, str]]]] = {}
        self.base_env = {k: v for k, v in os.environ.items() if k not in (FD_ENV, SUBREAPER_ENV)}
        self.home = self.base_env.get("HOME", "/")
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake_r = wake_r
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(sock, selectors.EVENT_READ, "control")
        self.selector.register(wake_r, selectors.EVENT_READ, "signals")
        self.running = True

    # -- sending ----------------------------------------------------------------------------

    def send(self, message: dict, fds: list[int] | None = None) -> None:
        self.outbox.append((json.dumps(message, separators=(",", ":")).encode(), fds or []))
        self._flush()

    def _flush(self) -> None:
        while self.outbox:
            data, fds = self.outbox[0]
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            try:
                self.sock.sendmsg([data], ancillary)
            except BlockingIOError:
                break
            except OSError:
                self.running = False
                return
            self.outbox.pop(0)
            for fd in fds:
                os.close(fd)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbox else 0)
        self.selector.modify(self.sock, events, "control")

    # -- receiving --------------------------------------------------------------------------

    def on_control(self) -> None:
        try:
            data, ancillary, flags, _ = self.sock.recvmsg(
                MAX_PACKET, socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC
            )
        except BlockingIOError:
            return
        except OSError:
            self.running = False
            return
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
        if not data and not ancillary:
            self.running = False  # the server closed its end
            return
        try:
            request = json.loads(data)
            if not isinstance(request, dict) or not isinstance(request.get("id"), int):
                raise ValueError("a request needs an integer id")
        except ValueError as exc:
            for fd in fds:
                _close(fd)
            self.send({"id": None, "ok": False, "error": f"bad request: {exc}"})
            return
        try:
            self.handle(request, fds)  # the handler owns the fds from here on
        except Exception as exc:  # one bad request never takes the agent down
            self.send({"id": request["id"], "ok": False, "error": f"{exc.__class__.__name__}: {exc}"})


    def handle(self, request: dict, fds: list[int]) -> None:
        op = request.get("op")
        if op == "spawn":
            self.spawn(request, fds)
            return
        for fd in fds:
            _close(fd)
        if op == "signal":
            pid = next((p for p, s in self.spawns.items() if s == request.get("spawn")), None)
            if pid is not None:
                signal_tree(pid, int(request["sig"]))
            self.send({"id": request["id"], "ok": True, "found": pid is not None})
        elif op == "connect":
            port = request.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError("port must be 1-65535")
            self.connect(request["id"], [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")], port)
        else:
            raise ValueError(f"unknown op {op!r}")

    # -- spawn ------------------------------------------------------------------------------

    def spawn(self, request: dict, fds: list[int]) -> None:
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        master = slave = None
        try:
            argv = request["argv"]
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                raise ValueError("argv must be a non-empty list of strings")
            env = dict(self.base_env)
            env.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
            for name in request.get("unset") or []:
                env.pop(str(name), None)
            stdio_index = request.get("stdio") or [None, None, None]
            pty = request.get("pty")
            if pty:
                master, slave = os.openpty()
                os.set_inheritable(master, False)
                cols, rows = int(pty.get("cols", 80)), int(pty.get("rows", 24))
                import fcntl

                fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                # The child is a new session's leader (setsid runs before the file actions)
                # and opens the terminal without O_NOCTTY, which makes it its controlling
                # terminal: job control and ^C work as in any terminal.
                actions = [
                    (os.POSIX_SPAWN_OPEN, 0, os.ttyname(slave), os.O_RDWR, 0),
                    (os.POSIX_SPAWN_DUP2, 0, 1),
                    (os.POSIX_SPAWN_DUP2, 0, 2),
                ]
            else:
                stdio = [fds[i] if isinstance(i, int) and 0 <= i < len(fds) else devnull for i in stdio_index]
                actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)]
            cwd = request.get("cwd") or self.home
            try:
                os.chdir(cwd)
            except OSError:
                os.chdir(self.home if os.path.isdir(self.home) else "/")
            try:
                pid = os.posix_spawnp(
                    argv[0], argv, env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS
                )
            finally:
                os.chdir("/")
        except BaseException:
            if master is not None:
                os.close(master)
            raise
        finally:
            for fd in [devnull, *fds] + ([slave] if slave is not None else []):
                _close(fd)
        self.spawns[pid] = request["id"]
        self.send({"id": request["id"], "ok": True, "pid": pid}, [master] if master is not None else None)
        self.reap()  # a command that failed at once must still get its exit event

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            spawn_id = self.spawns.pop(pid, None)
            if spawn_id is not None:
                code = os.waitstatus_to_exitcode(status)
                self.send({"event": "exit", "spawn": spawn_id, "code": 128 - code if code < 0 else code})

    # -- connect ----------------------------------------------------------------------------

    def connect(self, ident: int, addresses: list[tuple[int, str]], port: int) -> None:
        family, host = addresses[0]
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        result = sock.connect_ex((host, port))
        if result in (0, errno.EINPROGRESS):
            self.connects[sock] = (ident, addresses[1:])
            self.selector.register(sock, selectors.EVENT_WRITE, ("connect", port))
            return
        sock.close()
        self._connect_failed(ident, addresses[1:], port, result)

    def on_connected(self, sock: socket.socket, port: int) -> None:
        self.selector.unregister(sock)
        ident, rest = self.connects.pop(sock)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error == 0:
            self.send({"id": ident, "ok": True}, [os.dup(sock.fileno())])
            sock.close()
            return
        sock.close()
        self._connect_failed(ident, rest, port, error)

    def _connect_failed(self, ident: int, rest: list[tuple[int, str]], port: int, error: int) -> None:
        if rest:
            self.connect(ident, rest, port)
        else:
            self.send({"id": ident, "ok": False, "error": os.strerror(error), "errno": error})

    # -- loop -------------------------------------------------------------------------------

    def run(self) -> None:
        self.send({"event": "ready"})
        while self.running:
            for key, events in self.selector.select():
                if key.data == "control":
                    if events & selectors.EVENT_WRITE:
                        self._flush()
                    if events & selectors.EVENT_READ:
                        self.on_control()
                elif key.data == "signals":
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                else:
                    self.on_connected(key.fileobj, key.data[1])  # type: ignore[arg-type]
                if not self.running:
                    break


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _end_everything(*_: object) -> None:
    # Only when the agent is not PID 1 of its own namespace (isolation "none"): as subreaper
    # it is the ancestor of everything the sandbox started, so it can end all of it.
    signal_tree(os.getpid(), signal.SIGKILL)
    os._exit(0)


def main() -> None:
    _prctl(PR_SET_DUMPABLE, 0)
    fd = int(os.environ.get(FD_ENV, "3"))
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(False)
    sock.setblocking(False)
    if os.environ.get(SUBREAPER_ENV):
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        signal.signal(signal.SIGTERM, _end_everything)
    os.chdir("/")
    agent = Agent(sock)
    try:
        agent.run()
    finally:
        if os.environ.get(SUBREAPER_ENV):
            _end_everything()
    sys.exit(0)


if __name__ == "__main__":
    main()
