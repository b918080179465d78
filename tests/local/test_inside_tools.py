"""The in-sandbox file tool (``inside/pocketenv_tools.py``), run as the real program.

Each test runs the tool the way the agent does, as a separate interpreter, with
``POCKETENV_ROOT`` standing for the sandbox's root (isolation "none" semantics): archives
never land outside their target, planted symlinks are replaced rather than written through.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pocketenv_tui.local.sandbox.isolation import INSIDE_DIR, tools_argv


def tool(root: Path, *args: str, stdin: bytes = b"", python: str = sys.executable) -> subprocess.CompletedProcess[bytes]:
    env = {"POCKETENV_ROOT": str(root), "HOME": "/home/sandbox", "PATH": "/usr/bin:/bin"}
    return subprocess.run(tools_argv(python, str(INSIDE_DIR), *args), input=stdin, capture_output=True, env=env, timeout=60)


def _lacks_data_filter(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import tarfile; print(hasattr(tarfile, 'data_filter'))"], capture_output=True)
    return probe.stdout.strip() == b"False"


# The tool's own checks stand in for tarfile's "data" filter on interpreters older than
# 3.11.4; Debian 12's /usr/bin/python3 (3.11.2) is one, when it is there.
OLD_PYTHON = "/usr/bin/python3"
INTERPRETERS = [
    sys.executable,
    pytest.param(OLD_PYTHON, marks=pytest.mark.skipif(
        not Path(OLD_PYTHON).exists() or not _lacks_data_filter(OLD_PYTHON),
        reason="no interpreter without tarfile.data_filter here",
    )),
]


def _tar(members: list[tarfile.TarInfo], data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info in members:
            if info.isfile():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "home" / "sandbox").mkdir(parents=True)
    return tmp_path / "root"


@pytest.mark.parametrize("python", INTERPRETERS)
def test_unpack_keeps_absolute_names_inside(root: Path, python: str) -> None:
    result = tool(root, "unpack", "/dest", stdin=_tar([tarfile.TarInfo("/abs/inside.txt")]), python=python)
    assert result.returncode == 0, result.stderr
    assert (root / "dest" / "abs" / "inside.txt").read_bytes() == b"x"
    assert not (root / "abs").exists()


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "a/../../../escape.txt"])
def test_unpack_refuses_escaping_names(root: Path, name: str, python: str) -> None:
    dest = root / "dest" / "inner"
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("kept")
    result = tool(root, "unpack", "/dest/inner", "--replace", stdin=_tar([tarfile.TarInfo(name)]), python=python)
    assert result.returncode == 1 and b"could not be unpacked" in result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]
    assert not (root / "dest" / "escape.txt").exists() and not (root / "escape.txt").exists()


@pytest.mark.parametrize("python", INTERPRETERS)
def test_unpack_refuses_links_out_and_device_nodes(root: Path, tmp_path: Path, python: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = tarfile.TarInfo("evil")
    link.type = tarfile.SYMTYPE
    link.linkname = str(outside)
    result = tool(root, "unpack", "/dest", stdin=_tar([link, tarfile.TarInfo("evil/pwned")]), python=python)
    assert result.returncode == 1
    assert list(outside.iterdir()) == []
    device = tarfile.TarInfo("null")
    device.type = tarfile.CHRTYPE
    device.devmajor, device.devminor = 1, 3
    assert tool(root, "unpack", "/dest", stdin=_tar([device]), python=python).returncode == 1
    hard = tarfile.TarInfo("hard")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "../../etc/passwd"
    assert tool(root, "unpack", "/dest", stdin=_tar([hard]), python=python).returncode == 1
    assert not (root / "dest" / "null").exists() and not (root / "dest" / "hard").exists()


def test_unpack_replaces_a_planted_link_instead_of_writing_through_it(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "dest").mkdir()
    (root / "dest" / "trap").symlink_to(outside)
    result = tool(root, "unpack", "/dest", stdin=_tar([tarfile.TarInfo("trap/file")]))
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == []
    assert (root / "dest" / "trap" / "file").read_bytes() == b"x" and not (root / "dest" / "trap").is_symlink()


def test_unpack_into_a_link_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "dest").symlink_to(outside)
    assert tool(root, "unpack", "/dest", stdin=_tar([tarfile.TarInfo("f")])).returncode == 1
    assert list(outside.iterdir()) == []


def test_pack_keeps_symlinks_as_links(root: Path, tmp_path: Path) -> None:
    src = root / "src"
    src.mkdir()
    (tmp_path / "hostsecret").write_text("host")
    (src / "link").symlink_to(tmp_path / "hostsecret")
    (src / "f").write_text("file")
    result = tool(root, "pack", "/src")
    assert result.returncode == 0, result.stderr
    with tarfile.open(fileobj=io.BytesIO(result.stdout), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["link"].issym() and members["f"].isfile()
        assert b"host" not in tar.extractfile("f").read()  # type: ignore[union-attr]


def test_write_files_replaces_planted_symlinks(root: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    ssh = root / "home" / "sandbox" / ".ssh"
    ssh.mkdir()
    (ssh / "id_ed25519").symlink_to(victim)
    payload = json.dumps([
        {"path": "/home/sandbox/.ssh/id_ed25519", "data": base64.b64encode(b"KEY").decode(), "mode": 0o600, "dir_mode": 0o700},
        {"path": "/home/sandbox/sub/dir/f.txt", "data": base64.b64encode(b"hi").decode(), "mode": 0o644},
        {"path": "/home/sandbox", "data": "", "mode": 0o644},
    ]).encode()
    result = tool(root, "write-files", stdin=payload)
    assert result.returncode == 0
    assert victim.read_text() == "untouched"
    key = ssh / "id_ed25519"
    assert not key.is_symlink() and key.read_bytes() == b"KEY" and key.stat().st_mode & 0o777 == 0o600
    assert ssh.stat().st_mode & 0o777 == 0o700
    assert (root / "home" / "sandbox" / "sub" / "dir" / "f.txt").read_bytes() == b"hi"
    failures = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["path"] for f in failures] == ["/home/sandbox"] and "directory" in failures[0]["error"]


def test_is_dir_does_not_count_links(root: Path, tmp_path: Path) -> None:
    (root / "real").mkdir()
    (root / "link").symlink_to(tmp_path)
    assert tool(root, "is-dir", "/real").returncode == 0
    assert tool(root, "is-dir", "/link").returncode == 1
    assert tool(root, "is-dir", "/missing").returncode == 1
    assert tool(root, "bogus").returncode == 2
