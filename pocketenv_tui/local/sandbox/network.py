"""A sandbox's own network: a network namespace with slirp4netns as its only way out.

bwrap gives every sandbox a new network namespace (``--unshare-net``): inside there is a
loopback of its own, so nothing listening on the host's loopback (the backend's API
included) and nothing of another sandbox can be reached, and abstract unix sockets of the
host are out of sight too. slirp4netns then attaches a TAP device (``tap0``, 10.0.2.100/24)
whose traffic it turns into ordinary sockets of the host: outbound connections work, with
``--disable-host-loopback`` so that 10.0.2.2 does not lead back to the host's 127.0.0.1. It
runs with its own sandbox and seccomp filter (``--enable-sandbox --enable-seccomp``) and
exits when the server closes its exit fd (or dies). DNS inside goes to slirp's 10.0.2.3.

What the sandbox can still reach is what any machine on the host's networks can: services
the host exposes on a non-loopback address. The preview proxy does not need the network at
all: it asks the sandbox's agent to connect inside (see ``agent_channel.connect``).

Without slirp4netns the namespace is still made, with loopback only: no outbound network,
which the sandbox record reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess

from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.limits import CgroupLimits
from pocketenv_tui.local.sandbox.proc import PipeReader, RingBuffer, spawn, wait_exit_within

READY_TIMEOUT = 10.0
RESOLV_CONF = b"# written by pocketenv-tui: slirp4netns forwards DNS from here\nnameserver 10.0.2.3\n"


def slirp_missing() -> str | None:
    if shutil.which("slirp4netns") is None:
        return "slirp4netns is not installed (Debian package slirp4netns)"
    if os.geteuid() == 0:
        return None
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError as exc:
        return f"/dev/net/tun cannot be opened ({exc.strerror})"
    os.close(fd)
    return None


class SlirpNetwork:
    def __init__(self, proc: subprocess.Popen[bytes], exit_w: int, log: RingBuffer, reader: PipeReader) -> None:
        self.proc = proc
        self._exit_w = exit_w
        self.log = log
        self._reader = reader

    @classmethod
    async def start(cls, target_pid: int, cgroups: CgroupLimits | None) -> SlirpNetwork:
        ready_r, ready_w = os.pipe()
        exit_r, exit_w = os.pipe()
        out_r, out_w = os.pipe()
        argv = [
            "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
            "--enable-sandbox", "--enable-seccomp",
            f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", "--netns-type=path", f"/proc/{target_pid}/ns/net", "tap0",
        ]  # fmt: skip
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if cgroups is not None:
            argv, env = cgroups.wrap(argv, env)
        try:
            proc = spawn(argv, env=env, cwd="/", stdout=out_w, stderr=out_w, pass_fds=[ready_w, exit_r])
        except OSError as exc:
            for fd in (ready_r, ready_w, exit_r, exit_w, out_r, out_w):
                os.close(fd)
            raise SandboxRuntimeError(f"could not start slirp4netns: {exc.strerror or exc}") from None
        finally:
            for fd in (ready_w, exit_r, out_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
        log = RingBuffer(8192)
        network = cls(proc, exit_w, log, PipeReader(out_r, log))
        try:
            await network._wait_ready(ready_r)
        except BaseException:
            await network.stop()
            raise
        return network

    async def _wait_ready(self, ready_r: int) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def on_ready() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(ready_r, on_ready)
        try:
            await asyncio.wait_for(ready, READY_TIMEOUT)
            if not os.read(ready_r, 16):
                message = self.log.snapshot().decode("utf-8", "replace").strip()
                raise SandboxRuntimeError(f"slirp4netns failed: {message or 'it exited'}")
        except TimeoutError:
            raise SandboxRuntimeError("slirp4netns did not bring the network up in time") from None
        finally:
            loop.remove_reader(ready_r)
            os.close(ready_r)

    async def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._exit_w)  # slirp4netns exits when this closes
        if await wait_exit_within(self.proc, 2.0) is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            await wait_exit_within(self.proc, 2.0)
        self._reader.close()
