"""The server never follows a path a sandbox controls: planted symlinks and swapped paths.

Each host "victim" below is a directory or file of the test's own, outside the sandbox; a
symlink inside the sandbox names it by its host path. Before the sandbox boundary work, the
server resolved such links on the host and wrote the SSH private key into the victim, or
packed and unpacked through it (44 of 300 raced tries wrote, 40 of 300 read).
"""

from __future__ import annotations

import asyncio
import io
import tarfile
from pathlib import Path

from tests.local.escape.conftest import require
from tests.local.helpers import Api, make_tar_gz

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"


async def restart(api: Api, sandbox_id: str) -> dict:
    await api.ok(await api.post("sandbox.stopSandbox", id=sandbox_id))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sandbox_id))
    return await api.wait_status(sandbox_id, "RUNNING")


async def test_ssh_key_install_replaces_planted_symlinks(api: Api, sandbox: dict, tmp_path: Path) -> None:
    require(sandbox, "namespaces")
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    victim.chmod(0o644)
    sid = sandbox["id"]
    await api.exec(sid, f"mkdir -p ~/.ssh && ln -s {victim} ~/.ssh/id_ed25519 && ln -s {victim} ~/.ssh/id_ed25519.pub")
    await api.ok(await api.post("sandbox.putSshKeys", {"id": sid, "privateKey": api.seal(PRIVATE_KEY), "publicKey": "ssh-ed25519 AAAA t@x"}))
    await restart(api, sid)
    assert victim.read_text() == "host file\n" and victim.stat().st_mode & 0o777 == 0o644
    inside = await api.exec(sid, "test -L ~/.ssh/id_ed25519 && echo link; stat -c %a ~/.ssh/id_ed25519; head -1 ~/.ssh/id_ed25519")
    assert inside["stdout"].splitlines() == ["600", "-----BEGIN OPENSSH PRIVATE KEY-----"]


async def test_file_record_through_a_planted_symlink_stays_inside(api: Api, sandbox: dict, tmp_path: Path) -> None:
    require(sandbox, "namespaces")
    victim = tmp_path / "victim-dir"
    victim.mkdir()
    sid = sandbox["id"]
    await api.exec(sid, f"ln -s {victim} /workspace/conf")
    await api.ok(await api.post("file.addFile", {"file": {"sandboxId": sid, "path": "/workspace/conf/app.toml", "content": api.seal("x = 1\n")}}))
    restarted = await restart(api, sid)
    assert list(victim.iterdir()) == []
    # Inside the sandbox the link leads nowhere: the file is not written, and the record says so.
    assert any("/workspace/conf/app.toml was not written" in w for w in restarted.get("warnings", [])), restarted


async def _download(api: Api, uuid: str) -> dict[str, bytes]:
    response = await api.client.get(f"/cp/{uuid}")
    assert response.status_code == 200
    out = {}
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                out[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return out


async def test_push_and_pull_through_a_symlink_never_touch_the_host(api: Api, sandbox: dict, tmp_path: Path) -> None:
    require(sandbox, "namespaces")
    victim = tmp_path / "host-dir"
    victim.mkdir()
    (victim / "host-secret.txt").write_text("do not leak")
    sid = sandbox["id"]
    await api.exec(sid, f"ln -s {victim} ~/link")
    pushed = await api.post("sandbox.pushDirectory", {"sandboxId": sid, "directoryPath": "/home/sandbox/link"})
    assert pushed.status_code == 400 and "not a directory" in pushed.json()["message"]
    upload = await api.client.post("/cp", files={"file": ("a.tar.gz", make_tar_gz({"dropped.txt": b"from the upload"}))})
    uuid = (await api.ok(upload))["uuid"]
    pulled = await api.post("sandbox.pullDirectory", {"sandboxId": sid, "directoryPath": "/home/sandbox/link", "uuid": uuid})
    assert pulled.status_code == 400, pulled.text
    assert sorted(p.name for p in victim.iterdir()) == ["host-secret.txt"]


async def test_racing_a_path_swap_against_push_and_pull(api: Api, sandbox: dict, tmp_path: Path) -> None:
    """The sandbox flips ~/swap between a directory and a link to a host directory as fast
    as it can while the server packs and unpacks it: no try reads or writes the host."""
    require(sandbox, "namespaces")
    victim = tmp_path / "host-dir"
    victim.mkdir()
    (victim / "host-secret.txt").write_text("do not leak")
    sid = sandbox["id"]
    await api.exec(sid, "mkdir -p ~/real && echo mine > ~/real/own.txt")
    flipper = (
        f"end=$((SECONDS+20)); while [ $SECONDS -lt $end ]; do "
        f"rm -rf ~/swap; ln -s {victim} ~/swap; rm -f ~/swap; cp -r ~/real ~/swap; done"
    )
    await api.exec(sid, f"({flipper}) >/dev/null 2>&1 &")
    upload = await api.client.post("/cp", files={"file": ("a.tar.gz", make_tar_gz({"raced.txt": b"pulled"}))})
    uuid = (await api.ok(upload))["uuid"]

    async def push() -> dict[str, bytes] | None:
        response = await api.post("sandbox.pushDirectory", {"sandboxId": sid, "directoryPath": "/home/sandbox/swap"})
        return await _download(api, response.json()["uuid"]) if response.status_code == 200 else None

    async def pull() -> int:
        response = await api.post("sandbox.pullDirectory", {"sandboxId": sid, "directoryPath": "/home/sandbox/swap", "uuid": uuid})
        return response.status_code

    pushes = await asyncio.gather(*(push() for _ in range(30)))
    pulls = await asyncio.gather(*(pull() for _ in range(30)))
    archives = [a for a in pushes if a is not None]
    assert all(b"do not leak" not in data for archive in archives for data in archive.values())
    assert all(status in (200, 400) for status in pulls)
    assert sorted(p.name for p in victim.iterdir()) == ["host-secret.txt"]
    assert archives or 200 in pulls  # some tries met the real directory


async def test_restore_into_a_swapped_directory_stays_inside(api: Api, sandbox: dict, tmp_path: Path) -> None:
    require(sandbox, "namespaces")
    victim = tmp_path / "host-dir"
    victim.mkdir()
    sid = sandbox["id"]
    await api.exec(sid, "mkdir -p ~/data && echo saved > ~/data/state.txt")
    await api.ok(await api.post("sandbox.createBackup", {"directory": "/home/sandbox/data"}, id=sid))
    backup = (await api.ok(await api.get("sandbox.getBackups", id=sid)))["backups"][0]
    await api.exec(sid, f"rm -rf ~/data && ln -s {victim} ~/data")
    restored = await api.post("sandbox.restoreBackup", {"backupId": backup["id"]})
    assert restored.status_code == 400 and "symbolic link" in restored.json()["message"]
    assert list(victim.iterdir()) == []


async def test_volume_path_through_a_symlink_is_not_mounted(api: Api, sandbox: dict, tmp_path: Path) -> None:
    require(sandbox, "namespaces")
    victim = tmp_path / "host-dir"
    victim.mkdir()
    sid = sandbox["id"]
    await api.exec(sid, f"ln -s {victim} ~/mnt-here")
    await api.ok(await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "v", "path": "/home/sandbox/mnt-here/data"}}))
    restarted = await restart(api, sid)
    assert any("was not mounted" in w for w in restarted.get("warnings", [])), restarted
    assert list(victim.iterdir()) == []


async def test_repo_is_cloned_inside_the_sandbox(api: Api, sandbox: dict) -> None:
    require(sandbox, "namespaces")
    sid = sandbox["id"]
    setup = await api.exec(
        sid,
        "git init -q --initial-branch=main --bare /workspace/origin.git && git init -q ~/src && cd ~/src && "
        "git -c user.email=t@x -c user.name=t commit -q --allow-empty -m first && "
        "git push -q /workspace/origin.git HEAD:refs/heads/main",
    )
    assert setup["exitCode"] == 0, setup["stderr"]
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {"repo": "/workspace/origin.git"}, id=sid))
    started = await api.wait_status(sid, "RUNNING")
    assert not any("repo" in w for w in started.get("warnings", [])), started
    log = await api.exec(sid, "git -C ~/origin log --format=%s")
    assert log["stdout"] == "first\n"
