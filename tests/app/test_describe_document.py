"""The describe document, without Textual: every field, names only for secrets and variables,
sections that failed, and YAML / JSON that hostile strings can neither break nor use to reach
the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxUsage
from pocketenv_tui.api.resource_models import Port, Service
from pocketenv_tui.app.describe_document import (
    JSON_NOTE_KEY,
    NOT_RUNNING,
    NOT_SERVED,
    NOTE,
    DescribeData,
    SectionError,
    describe_document,
    to_json,
    to_yaml,
    yaml_quoted,
    yaml_scalar,
)

try:  # only to read back what was written: the app itself has no YAML dependency
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

needs_yaml = pytest.mark.skipif(yaml is None, reason="PyYAML is not installed: the YAML is not read back")

HOSTILE = [
    "two\nlines",
    "ends with a newline\n",
    "\x1b]52;c;cGF5bG9hZA==\x07clipboard",
    "\x1b[2J\x1b[Hcleared",
    '"quoted" and \\backslash\\',
    ": colon first",
    "- dash first",
    "# hash first",
    "key: value",
    "trailing space ",
    "  leading spaces",
    "yes",
    "null",
    "~",
    "0x1F",
    "1e3",
    "2026-04-15",
    "\u202eright-to-left override",
    "zero\u200bwidth",
    "line\u2028separator",
    "next\x85line",
    "nul\x00byte",
    "tab\tseparated",
    "\ud800 lone surrogate",
    "tag \U000e0041 character",
    "",
    "x" * 1100,
    "several final newlines\n\n\n",
    "carriage\r\nreturn",
]


def sandbox_record(**overrides) -> dict:
    record = {
        "id": "sbx_1",
        "name": "alpha",
        "provider": "cloudflare",
        "baseSandbox": "openclaw",
        "status": "RUNNING",
        "description": "a sandbox\nwith two lines",
        "createdAt": "2026-04-15T09:30:00Z",
        "startedAt": "2026-04-15T09:31:00Z",
        "vcpus": 2,
        "memory": 4,
        "disk": 8,
        "isolation": "bwrap",
        "keepAlive": True,
        "warnings": ["could not clone file:///nonexistent.git"],
        "protections": ["user-namespace", "seccomp"],
        "missingProtections": ["network: slirp4netns is missing"],
        "limits": {"pids": 512, "memoryMiB": 2048, "vcpus": 1.5, "diskMiB": 10240},
        "owner": {"did": "did:plc:me", "handle": "me.test", "createdAt": "2026-01-01T00:00:00Z", "plan": "free"},
        "localBase": "shell",
        "futureField": {"nested": [1, "two"]},
    }
    record.update(overrides)
    sandbox = Sandbox.from_json(record)
    assert sandbox is not None
    return sandbox


def full_data(**overrides) -> DescribeData:
    values = dict(
        sandbox=sandbox_record(),
        ports=[Port(8080, "web", "http://preview/8080/")],
        services=[Service("svc_1", "web", "npx serve", status="RUNNING", ports=[3001], extra={"restarts": 2})],
        secret_names=["API_TOKEN"],
        variable_names=["DEBUG"],
        usage=[SandboxUsage("sbx_1", cpu_percent=12.5, memory_bytes=1024, pids=3, sampled_at=datetime(2026, 4, 15, tzinfo=UTC))],
    )
    values.update(overrides)
    return DescribeData(**values)


def test_every_field_of_the_record_is_there_under_the_servers_names():
    document = describe_document(full_data())
    record = document["sandbox"]
    for name in Sandbox._KNOWN:
        assert name in record, name
    assert record["keepAlive"] is True
    assert record["warnings"] == ["could not clone file:///nonexistent.git"]
    assert record["missingProtections"] == ["network: slirp4netns is missing"]
    assert record["limits"] == {"pids": 512, "memoryMiB": 2048, "vcpus": 1.5, "diskMiB": 10240}
    assert record["createdAt"] == "2026-04-15T09:30:00+00:00"
    # Fields the client does not know are kept, the owner's too.
    assert record["futureField"] == {"nested": [1, "two"]}
    assert record["owner"]["plan"] == "free" and record["owner"]["handle"] == "me.test"
    assert document["ports"] == [{"port": 8080, "description": "web", "previewUrl": "http://preview/8080/"}]
    service = document["services"][0]
    assert service["command"] == "npx serve" and service["ports"] == [3001] and service["restarts"] == 2
    assert document["usage"]["cpuPercent"] == 12.5 and "sandboxId" not in document["usage"]
    assert document["secrets"] == ["API_TOKEN"] and document["variables"] == ["DEBUG"]


def test_usage_not_served_not_running_and_sections_that_failed():
    document = describe_document(
        full_data(usage=None, ports=SectionError("Could not read the ports: 404"), secret_names=[])
    )
    assert document["usage"] == NOT_SERVED
    assert document["ports"] == {"error": "Could not read the ports: 404"}
    assert document["secrets"] == []
    assert describe_document(full_data(usage=[]))["usage"] == NOT_RUNNING


def test_the_note_comes_first_in_both_formats():
    document = describe_document(full_data())
    assert to_yaml(document).splitlines()[0] == f"# {NOTE}"
    assert list(json.loads(to_json(document)))[0] == JSON_NOTE_KEY


@needs_yaml
def test_yaml_reads_back_as_the_same_document():
    document = describe_document(full_data())
    text = to_yaml(document)
    assert yaml.safe_load(text) == document
    assert "  keepAlive: true" in text.splitlines()
    assert "  description: |-" in text.splitlines()  # multi-line text as a literal block


def test_plain_and_quoted_scalars():
    assert yaml_scalar("alpha") == "alpha"
    assert yaml_scalar("http://127.0.0.1:8789/preview/") == "http://127.0.0.1:8789/preview/"
    assert yaml_scalar(None) == "null" and yaml_scalar(True) == "true" and yaml_scalar(3) == "3"
    for word in ("yes", "No", "null", "on", "2cpu", "1.5", "", "a: b", "-x", "#x", "x:"):
        assert yaml_scalar(word).startswith('"'), word
    assert yaml_quoted("a\x1bb\n") == '"a\\x1bb\\n"'


def _printable(text: str) -> bool:
    return all(char == "\n" or char.isprintable() for char in text)


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_cannot_break_the_document_or_reach_the_terminal(hostile):
    sandbox = sandbox_record(name=hostile or "x", description=hostile, **{hostile or "k": hostile})
    data = full_data(
        sandbox=sandbox,
        ports=[Port(8080, hostile)],
        services=[Service("svc", hostile, hostile)],
        secret_names=[hostile],
        variable_names=[hostile],
    )
    document = describe_document(data)
    for text in (to_yaml(document), to_json(document)):
        # No control or format character is left as it is: only escapes, and the newlines
        # that separate lines.
        assert _printable(text)
        # A string cannot add a line of its own at the top level (a forged key).
        assert all(not line or line.startswith(("#", " ", "{", "}", "sandbox", "usage", "ports", "services", "secrets", "variables", "?", ":"))
                   for line in text.splitlines()), text
    expected = hostile.replace("\ud800", "\ufffd")
    back = json.loads(to_json(document))
    assert back["secrets"] == [hostile]  # JSON keeps even a lone surrogate, as an escape
    if yaml is not None:
        read = yaml.safe_load(to_yaml(document))
        assert read["sandbox"]["description"] == expected
        assert read["services"][0]["command"] == expected
        assert read["variables"] == [expected]


def test_a_sandbox_with_no_extras_and_no_sections():
    sandbox = Sandbox.from_json({"id": "s", "name": "bare"})
    document = describe_document(DescribeData(sandbox))
    text = to_yaml(document)
    assert "ports: []" in text and "secrets: []" in text
    assert f"usage: {yaml_scalar(NOT_SERVED)}" in text
