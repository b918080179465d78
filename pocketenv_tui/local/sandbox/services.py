"""Services: long-running commands of a sandbox, started by its agent, with a bounded log.

A service's stdout and stderr go to one pipe read into a 64 KiB ring buffer (the newest
output wins). Stopping sends SIGTERM to the service's whole tree, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from pocketenv_tui.local.sandbox.agent_channel import AgentChannel, RemoteProcess
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.proc import PipeReader, RingBuffer

SERVICE_LOG_LIMIT = 64 * 1024
SERVICE_STOP_GRACE = 3.0


@dataclass
class ServiceSpec:
    id: str
    name: str
    command: str  # run with bash -c inside the sandbox, with the sandbox env


class Service:
    def __init__(self, spec: ServiceSpec, proc: RemoteProcess, reader: PipeReader, log: RingBuffer) -> None:
        self.spec = spec
        self.proc = proc
        self.reader = reader
        self.log = log
        self.exit_code: int | None = None
        self.stop_requested = False  # ended by stop(), not by itself
        self.watcher: asyncio.Task[None] | None = None
        self.on_exit: Callable[[Service], None] | None = None  # told once the process ended

    @property
    def running(self) -> bool:
        return self.exit_code is None

    @classmethod
    async def start(
        cls, channel: AgentChannel, spec: ServiceSpec, shell: str, *, on_exit: Callable[[Service], None] | None = None
    ) -> Service:
        log = RingBuffer(SERVICE_LOG_LIMIT)
        out_r, out_w = os.pipe()
        try:
            proc, _ = await channel.spawn([shell, "-c", spec.command], stdout=out_w, stderr=out_w)
        except SandboxRuntimeError as exc:
            os.close(out_r)
            raise SandboxRuntimeError(f"could not start service {spec.name}: {exc}") from None
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        service = cls(spec, proc, PipeReader(out_r, log), log)
        service.on_exit = on_exit
        service.watcher = asyncio.get_running_loop().create_task(service._watch())
        return service

    async def _watch(self) -> None:
        code = await self.proc.wait()
        self.exit_code = code
        self.log.write(f"\n[pocketenv: service exited with code {code}]\n".encode())
        if self.on_exit is not None:
            self.on_exit(self)

    async def stop(self) -> None:
        self.stop_requested = True
        if not self.running:
            self.reader.close()
            return
        await self.proc.signal(signal.SIGTERM)
        if await self.proc.wait_within(SERVICE_STOP_GRACE) is None:
            await self.proc.signal(signal.SIGKILL)
            if await self.proc.wait_within(SERVICE_STOP_GRACE) is None:
                raise SandboxRuntimeError(f"could not stop service {self.spec.name}: its process does not exit")
        if self.watcher is not None:
            await asyncio.wait([self.watcher], timeout=SERVICE_STOP_GRACE)
        self.reader.close()

    def close(self) -> None:
        """The sandbox is gone: nothing of the service runs any more."""
        if self.watcher is not None:
            self.watcher.cancel()
        if self.exit_code is None:
            self.exit_code = -1
        self.reader.close()
