"""Local backend costs: exec round trip vs a bare subprocess, create+start, memory per shell.

Run: ``.venv/bin/python benchmarks/local_backend.py [--execs 200] [--shells 20]``.
Starts its own ``pocketenv-tui serve`` on a temporary data dir (127.0.0.1, free port) and
stops it at the end. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


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


async def main(execs: int, shells: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pocketenv-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        process = start_backend_process(data_dir, 0, log_path=Path(tmp) / "server.log")
        try:
            url = wait_for_server_json(data_dir, process, timeout=30)
            wait_until_ready(url, timeout=30, process=process)
            token, _ = read_credentials(data_dir)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
                starts = []
                for _ in range(5):
                    sandbox, seconds = await create_and_start(client)
                    starts.append(seconds)
                await exec_samples(client, sandbox["id"], 10)  # warm up
                over_http = await exec_samples(client, sandbox["id"], execs)
                direct = subprocess_samples(execs)

                print(f"\nlocal backend (isolation: {sandbox.get('isolation', '?')}), {execs} runs of `echo hi`")
                print(f"{'':<38} {'median ms':>9} {'p95 ms':>9} {'min ms':>9}")
                print(row("exec over HTTP (XRPC sandbox.exec)", over_http))
                print(row("subprocess.run(['bash','-c',...])", direct))
                print(row("create + start sandbox (5 runs)", starts))
                overhead = statistics.median(over_http) - statistics.median(direct)
                print(f"exec overhead over a bare subprocess: {overhead * 1000:.2f} ms (median)")

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
    args = parser.parse_args()
    asyncio.run(main(args.execs, args.shells))
    sys.exit(0)
