"""Which files an upload leaves out: ``.gitignore`` and ``.pocketenvignore`` rules, and ``.git``.

A self-contained reading of gitignore patterns (no git needed): comments, ``!`` negation,
``dir/`` for directories only, patterns with an inner ``/`` anchored to the file's folder,
``*``, ``?``, ``[...]`` and ``**``. Ignore files in sub-folders apply below them, and the last
matching rule wins. As in git, nothing inside an ignored folder can be re-included.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILES = (".gitignore", ".pocketenvignore")
ALWAYS_SKIPPED = frozenset({".git"})  # repository internals: large and never what is meant


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool


def _glob_to_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
                continue
            body = glob[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        elif char == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def parse_rule(line: str) -> Rule | None:
    """One line of an ignore file; None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    if not line.endswith("\\ "):
        line = line.rstrip(" ")
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith("\\"):
        line = line[1:]
    directory_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _glob_to_regex(line)
    pattern = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
    return Rule(re.compile(pattern), negated, directory_only)


def read_rules(folder: Path) -> list[Rule]:
    rules: list[Rule] = []
    for name in IGNORE_FILES:
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        rules.extend(rule for rule in map(parse_rule, text.splitlines()) if rule is not None)
    return rules


def verdict(relative: str, is_dir: bool, rules: list[Rule], ignored: bool = False) -> bool:
    """Apply ``rules`` in order to ``relative`` (from the rules' folder, ``/`` separators),
    starting from ``ignored``: the last matching rule wins."""
    for rule in rules:
        if rule.directory_only and not is_dir:
            continue
        if rule.regex.match(relative):
            ignored = not rule.negated
    return ignored


def kept_paths(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file, link and empty folder under ``root`` an upload keeps, as (path, archive name)."""
    root = root.resolve()
    # (folder the rules come from, its rules), outermost first: deeper files override.
    stack: list[tuple[Path, list[Rule]]] = []

    def ignored(path: Path, is_dir: bool) -> bool:
        result = False
        for base, rules in stack:
            result = verdict(path.relative_to(base).as_posix(), is_dir, rules, result)
        return result

    def walk(folder: Path) -> Iterator[tuple[Path, str]]:
        stack.append((folder, read_rules(folder)))
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            entries = []
        for entry in entries:
            path = Path(entry.path)
            is_dir = entry.is_dir(follow_symlinks=False)
            if (is_dir and entry.name in ALWAYS_SKIPPED) or ignored(path, is_dir):
                continue
            name = path.relative_to(root).as_posix()
            if is_dir:
                inside = list(walk(path))
                yield from inside if inside else [(path, name)]
            else:
                yield path, name
        stack.pop()

    yield from walk(root)


Progress = Callable[[int, int], None]


def pack_directory(source: Path | str, on_progress: Progress | None = None) -> tuple[bytes, int]:
    """A tar.gz of what an upload keeps of ``source`` and the number of entries packed;
    ``on_progress(done, total)`` after each entry."""
    source = Path(source).expanduser()
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is not a folder")
    entries = list(kept_paths(source))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for done, (path, name) in enumerate(entries, start=1):
            tar.add(path, arcname=name, recursive=False)
            if on_progress is not None:
                on_progress(done, len(entries))
    return buffer.getvalue(), len(entries)
