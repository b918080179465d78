"""Local backend costs with full isolation: exec round trip vs a bare subprocess,
create+start, server memory during a big copy, memory per shell.

Run: ``.venv/bin/python benchmarks/local_backend.py [--execs 200] [--shells 20] [--upload-mib 200]``.
Starts its own ``pocketenv-tui serve`` on a temporary data dir (127.0.0.1, free port) and
stops it at the end. Prints tables and the targets of the sandbox-boundary work beside
them (create+start at most 150 ms; exec at most 3x a bare subprocess + 5 ms; peak server
memory during an upload under 64 MiB above idle); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from pocketenv_tui.local.launcher import (
    read_credentials,
    start_backend_process,
    stop_backend_process,
    wait_for_server_json,
    wait_until_ready,
)

NS = "/xrpc/io.pocketenv."
# What README.md reported before sandboxes were confined (shared network, server's uid,
# no limits): printed beside today's run for reference, not measured here.
BEFORE_CONFINEMENT = {"exec median ms": 12.4, "exec p95 ms": 22.9, "create+start median ms": 63.0}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh (writing 5 to clear_refs resets a process's peak RSS)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def make_archive(path: Path, mib: int) -> None:
    """A tar.gz of ``mib`` MiB of incompressible data, written in 1 MiB steps."""
    import os
    import tarfile

    payload = path.with_suffix(".bin")
    with open(payload, "wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1024 * 1024))
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.add(payload, arcname="payload.bin")
    payload.unlink()


async def copy_peaks(client: httpx.AsyncClient, pid: int, archive: Path) -> tuple[int, int, int, str]:
    """(idle RSS, peak during upload, peak during download) in KiB, and the upload's uuid."""
    await asyncio.sleep(0.5)
    idle = rss_kib(pid)
    reset_peak(pid)
    with open(archive, "rb") as handle:  # noqa: ASYNC230 - httpx reads it in chunks
        response = await client.post("/cp", files={"file": ("big.tar.gz", handle, "application/gzip")}, timeout=600)
    response.raise_for_status()
    upload_peak = rss_kib(pid, "VmHWM")
    uuid = response.json()["uuid"]
    reset_peak(pid)
    async with client.stream("GET", f"/cp/{uuid}", timeout=600) as download:
        async for _ in download.aiter_bytes(1024 * 1024):
            pass
    return idle, upload_peak, rss_kib(pid, "VmHWM"), uuid


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<38} {statistics.median(ms):>9.2f} {percentile(ms, 0.95):>9.2f} {min(ms):>9.2f}"


async def wait_running(client: httpx.AsyncClient, sandbox_id: str) -> dict:
    while True:
        data = (await client.get(NS + "sandbox.getSandbox", params={"id": sandbox_id})).json()
        if data.get("sandbox", {}).get("status") == "RUNNING":
            return data["sandbox"]
        await asyncio.sleep(0.005)


async def create_and_start(client: httpx.AsyncClient) -> tuple[dict, float]:
    began = time.perf_counter()
    response = await client.post(NS + "sandbox.createSandbox", json={"base": "shell"})
    response.raise_for_status()
    sandbox = await wait_running(client, response.json()["id"])
    return sandbox, time.perf_counter() - began


async def exec_samples(client: httpx.AsyncClient, sandbox_id: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        response = await client.post(NS + "sandbox.exec", params={"id": sandbox_id}, json={"command": "echo hi"})
        samples.append(time.perf_counter() - began)
        if response.json().get("stdout") != "hi\n":
            raise RuntimeError(f"exec answered {response.text}")
    return samples


def subprocess_samples(count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        subprocess.run(["bash", "-c", "echo hi"], capture_output=True, check=True)
        samples.append(time.perf_counter() - began)
    return samples


async def open_shells(url: str, sandbox_id: str, token: str, count: int) -> list:
    sockets = []
    for index in range(count):
        ws = await connect(f"{url}/v1/sandboxes/{sandbox_id}/ws/terminal?t={token}&session=bench-{index}")
        while True:  # wait for "ready": the shell exists from then on
            frame = await ws.recv()
            if isinstance(frame, str) and json.loads(frame).get("type") == "ready":
                break
        await ws.send(b"echo ok\n")
        sockets.append(ws)
    return sockets


async def main(execs: int, shells: int, upload_mib: int) -> None:
    os.environ.setdefault("POCKETENV_MAX_SHELLS", str(max(shells, 8)))
    with tempfile.TemporaryDirectory(prefix="pocketenv-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        archive = Path(tmp) / "big.tar.gz"
        make_archive(archive, upload_mib)
        process = start_backend_process(data_dir, 0, log_path=Path(tmp) / "server.log")
        try:
            url = wait_for_server_json(data_dir, process, timeout=30)
            wait_until_ready(url, timeout=30, process=process)
            token, _ = read_credentials(data_dir)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
                starts = []
                for _ in range(11):
                    sandbox, seconds = await create_and_start(client)
                    starts.append(seconds)
                starts = starts[1:]  # the first one also makes the server's export dir
                await exec_samples(client, sandbox["id"], 10)  # warm up
                over_http = await exec_samples(client, sandbox["id"], execs)
                direct = subprocess_samples(execs)

                print(f"\nlocal backend, isolation {sandbox.get('isolation', '?')}; protections in force: "
                      f"{', '.join(sandbox.get('protections', [])) or 'none'}")
                for line in sandbox.get("missingProtections", []):
                    print(f"  missing: {line}")
                print(f"{execs} runs of `echo hi`")
                print(f"{'':<38} {'median ms':>9} {'p95 ms':>9} {'min ms':>9}")
                print(row("exec over HTTP (XRPC sandbox.exec)", over_http))
                print(row("subprocess.run(['bash','-c',...])", direct))
                print(row("create + start sandbox (10 runs)", starts))
                exec_ms, bare_ms = statistics.median(over_http) * 1000, statistics.median(direct) * 1000
                start_ms = statistics.median(starts) * 1000
                print(f"exec overhead over a bare subprocess: {exec_ms - bare_ms:.2f} ms (median)")
                print(f"\ntargets: create+start median {start_ms:.1f} ms (at most 150: {'met' if start_ms <= 150 else 'NOT met'}); "
                      f"exec median {exec_ms:.2f} ms (at most 3 x {bare_ms:.2f} + 5 = {3 * bare_ms + 5:.2f}: "
                      f"{'met' if exec_ms <= 3 * bare_ms + 5 else 'NOT met'})")
                print("before confinement (README, Nov 2026): " + ", ".join(f"{k} {v}" for k, v in BEFORE_CONFINEMENT.items()))

                idle, up_peak, down_peak, _ = await copy_peaks(client, process.pid, archive)
                size = archive.stat().st_size / 1024**2
                print(f"\ncopy storage, {size:.0f} MiB archive: server RSS {idle / 1024:.1f} MiB idle, peak "
                      f"{up_peak / 1024:.1f} MiB uploading (+{(up_peak - idle) / 1024:.1f}), "
                      f"{down_peak / 1024:.1f} MiB downloading (+{(down_peak - idle) / 1024:.1f}); target under +64 MiB: "
                      f"{'met' if max(up_peak, down_peak) - idle < 64 * 1024 else 'NOT met'}")

                before = rss_kib(process.pid)
                sockets = await open_shells(url.replace("http://", "ws://", 1), sandbox["id"], token, shells)
                await asyncio.sleep(0.5)  # let the shells print their prompts
                after = rss_kib(process.pid)
                print(f"\nserver RSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with {shells} shells open "
                      f"(+{(after - before) / shells:.0f} KiB per shell; the shells' own processes not counted)")
                for ws in sockets:
                    await ws.close()
        finally:
            stop_backend_process(process, timeout=15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execs", type=int, default=200)
    parser.add_argument("--shells", type=int, default=20)
    parser.add_argument("--upload-mib", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.execs, args.shells, args.upload_mib))
    sys.exit(0)
