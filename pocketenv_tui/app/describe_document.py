"""The describe view's document: a sandbox's whole record and what it carries, as YAML or JSON.

:func:`describe_document` puts every field of the sandbox record (those the client does not
know, kept in ``extra``, too; under the server's own names) first, then usage, ports,
services, and the names of its secrets and variables: never a value, not even a variable's,
so the document can be copied and shown to anyone. A part the server could not give becomes
``{"error": "..."}`` in its place; the rest of the document is still shown.

:func:`to_yaml` writes YAML itself (the app has no YAML dependency): plain scalars only when
they cannot be read as anything but the same string, double quotes with escapes otherwise, and
literal blocks for multi-line text that needs no escape. Every character that is not printable
(ESC and other controls, bidirectional overrides, line separators...) is written as an escape in
both formats, so a hostile name or description can neither break the document nor reach the
terminal that shows it. Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pocketenv_tui.api.models import Profile, Sandbox, SandboxLimits
from pocketenv_tui.api.resource_models import Port, Service

NOTE = "Secrets and variables are listed by name only, never with a value."
JSON_NOTE_KEY = "//"  # JSON has no comments: the note is the first member instead
NOT_SERVED = "not reported by this server"
NOT_RUNNING = "none: the sandbox is not running"
YAML_KEY_MAX = 1000  # YAML's implicit keys end at 1024 characters; longer ones are explicit (?)


@dataclass(frozen=True, slots=True)
class SectionError:
    """A part of the document the server did not give, and why (shown in its place)."""

    message: str


@dataclass(frozen=True)
class DescribeData:
    """Everything the describe view loads for one sandbox."""

    sandbox: Sandbox
    ports: Sequence[Port] | SectionError = ()
    services: Sequence[Service] | SectionError = ()
    secret_names: Sequence[str] | SectionError = ()
    variable_names: Sequence[str] | SectionError = ()
    # A list of usage records (SandboxUsage from client.monitoring), [] when it is not
    # running, None when the server has no usage figures.
    usage: Sequence[Any] | SectionError | None = None


# -- building the document ------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _wire_name(model: type, field_name: str) -> str:
    """A model field's name as the server spells it (the model's _KNOWN), else its own."""
    known = getattr(model, "_KNOWN", ())
    camel = _camel(field_name)
    return camel if camel in known or not known else field_name


def _value(value: Any) -> Any:
    """A model value as plain data: None, bool, int, float, str, list, dict."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Profile):
        return _record(value)
    if isinstance(value, SandboxLimits):
        return {"pids": value.pids, "memoryMiB": value.memory_mib, "vcpus": value.vcpus, "diskMiB": value.disk_mib}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    if isinstance(value, Mapping):
        return {str(key): _value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return value


def _record(model: Any, leave_out: Sequence[str] = ()) -> dict[str, Any]:
    """Every field of a model under the server's names, then the fields it kept in ``extra``."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(model):
        if item.name == "extra" or item.name in leave_out:
            continue
        out[_wire_name(type(model), item.name)] = _value(getattr(model, item.name))
    for key, extra in (getattr(model, "extra", None) or {}).items():
        out.setdefault(str(key), _value(extra))
    return out


def _section(value: Any, build) -> Any:
    if isinstance(value, SectionError):
        return {"error": value.message}
    return build(value)


def _usage(usage: Sequence[Any] | None) -> Any:
    if usage is None:
        return NOT_SERVED
    if not usage:
        return NOT_RUNNING
    return _record(usage[0], leave_out=("sandbox_id",))


def describe_document(data: DescribeData) -> dict[str, Any]:
    """The document, as ordered plain data (what :func:`to_yaml` and :func:`to_json` write)."""
    return {
        "sandbox": _record(data.sandbox),
        "usage": _section(data.usage, _usage),
        "ports": _section(data.ports, lambda ports: [_record(port) for port in ports]),
        "services": _section(data.services, lambda services: [_record(s) for s in services]),
        "secrets": _section(data.secret_names, list),
        "variables": _section(data.variable_names, list),
    }


# -- escaping ----------------------------------------------------------------------------------

# A plain scalar that reads back as the same string: starts with a letter, "/" or "_", holds
# nothing YAML gives a meaning to, and is none of YAML 1.1's words for booleans and null.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+\-:=,() ]*")
_SPECIAL_WORDS = frozenset(
    "y n yes no true false on off null".split()
)
_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\x1b", "\x00": "\\0"}


def _escape_char(char: str) -> str:
    """A non-printable character as a YAML double-quoted escape."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"  # a lone surrogate (from a JSON escape) has no UTF-8: show its stand-in
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def yaml_quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar with every non-printable character escaped."""
    out = []
    for char in text:
        escaped = _YAML_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_escape_char(char))
    return '"' + "".join(out) + '"'


def _is_plain(text: str) -> bool:
    return (
        bool(_PLAIN.fullmatch(text))
        and not text.endswith((" ", ":"))
        and ": " not in text
        and text.lower() not in _SPECIAL_WORDS
    )


def yaml_scalar(value: Any) -> str:
    """One scalar (a key or a value on one line)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else yaml_quoted(str(value))
    text = str(value)
    return text if _is_plain(text) else yaml_quoted(text)


def _literal_block(text: str) -> str | None:
    """The block header (``|`` or ``|-``) if ``text`` can be a literal block as it is."""
    if "\n" not in text or text[0] in " \n" or not text.replace("\n", "").isprintable():
        return None
    if text.endswith("\n\n"):
        return None  # keeping several final newlines needs |+; quoting is clearer
    return "|" if text.endswith("\n") else "|-"


# -- YAML ----------------------------------------------------------------------------------------


def to_yaml(document: Mapping[str, Any], comments: Sequence[str] = (NOTE,)) -> str:
    """The document as block-style YAML, ``comments`` first (one ``#`` line each)."""
    lines = [f"# {_one_line(comment)}" for comment in comments]
    _mapping(document, 0, lines)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return yaml_quoted(text)[1:-1] if not text.isprintable() else text


def _entry(key: str, value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    name = yaml_scalar(key)
    if len(name) > YAML_KEY_MAX:
        lines.append(f"{pad}? {name}")
        head = f"{pad}:"
    else:
        head = f"{pad}{name}:"
    _value_after(head, value, indent, lines)


def _value_after(head: str, value: Any, indent: int, lines: list[str]) -> None:
    """``value`` after ``head`` (``key:`` or ``-``): inline if it is a scalar, else below."""
    if isinstance(value, Mapping):
        if not value:
            lines.append(f"{head} {{}}")
            return
        lines.append(head)
        _mapping(value, indent + 2, lines)
    elif isinstance(value, list | tuple):
        if not value:
            lines.append(f"{head} []")
            return
        lines.append(head)
        _sequence(value, indent + 2, lines)
    elif isinstance(value, str) and (block := _literal_block(value)) is not None:
        lines.append(f"{head} {block}")
        body = value[:-1] if value.endswith("\n") else value
        lines.extend(f"{' ' * (indent + 2)}{line}" if line else "" for line in body.split("\n"))
    else:
        lines.append(f"{head} {yaml_scalar(value)}")


def _mapping(value: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    for key, item in value.items():
        _entry(str(key), item, indent, lines)


def _sequence(value: Sequence[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if isinstance(item, Mapping) and item:
            # The first member goes on the "- " line, the others line up under it.
            first = len(lines)
            _mapping(item, indent + 2, lines)
            lines[first] = f"{pad}- {lines[first][indent + 2 :]}"
        else:
            _value_after(f"{pad}-", item, indent, lines)


# -- JSON ---------------------------------------------------------------------------------------


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def to_json(document: Mapping[str, Any], note: str | None = NOTE) -> str:
    """The document as indented JSON, the note first under ``//``."""
    data = {JSON_NOTE_KEY: note, **document} if note else dict(document)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    # json escapes C0 controls itself; other non-printable characters can only be inside
    # strings, where a \\u escape means the same character.
    if not text.replace("\n", "").isprintable():
        text = "".join(char if char == "\n" or char.isprintable() else _json_escape(char) for char in text)
    return text + "\n"
