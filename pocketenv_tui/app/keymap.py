"""The config's ``keymap`` checked before it is applied: every binding id the dashboard has, and
what is wrong with a remap (an id nobody has, a key another binding of the same view already
uses, a key the app reserves everywhere).

Textual applies a keymap silently: an unknown id does nothing and a key taken twice makes one
of the two bindings unreachable (``sandboxes.delete`` on ``s`` hides Start). So the app applies
only the remaps that are safe and says why it left out the others.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding
from textual.dom import DOMNode


@dataclass(frozen=True)
class KnownBinding:
    id: str
    keys: tuple[str, ...]
    description: str
    scope: str  # the view or widget it belongs to, as users see it named in help


@dataclass
class KeymapCheck:
    applied: dict[str, str]
    problems: list[str]


def _split_keys(keys: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in keys.split(",") if key.strip())


def _app_classes() -> Iterator[type[DOMNode]]:
    """Every screen and widget class of the dashboard (its modules imported first, so that a
    view not opened yet still counts)."""
    import pocketenv_tui.app as package

    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    seen: set[type] = set()
    pending: list[type] = [DOMNode]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            pending.append(sub)
            if sub.__module__.startswith("pocketenv_tui."):
                yield sub


def _own_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings a class has, inherited ones included (as Textual merges them)."""
    found: list[Binding] = []
    for base in reversed(cls.__mro__):
        for item in base.__dict__.get("BINDINGS", []):
            if isinstance(item, Binding):
                found.append(item)
    return found


def _scope_name(cls: type[DOMNode]) -> str:
    return cls.__name__.removesuffix("Screen") or cls.__name__


def binding_scopes() -> dict[str, list[Binding]]:
    """Scope name -> the bindings active together in it."""
    scopes: dict[str, list[Binding]] = {}
    for cls in _app_classes():
        bindings = _own_bindings(cls)
        if bindings:
            scopes[_scope_name(cls)] = bindings
    return scopes


def known_bindings() -> list[KnownBinding]:
    """One entry per binding id, in a stable order (by id)."""
    by_id: dict[str, KnownBinding] = {}
    for scope, bindings in binding_scopes().items():
        for binding in bindings:
            if binding.id and binding.id not in by_id:
                by_id[binding.id] = KnownBinding(
                    binding.id, _split_keys(binding.key), binding.description or binding.action, scope
                )
    return sorted(by_id.values(), key=lambda known: known.id)


def _global_keys() -> dict[str, Binding]:
    """Keys the app binds with priority: they win in every view, so no remap may take them."""
    from pocketenv_tui.app.app import PocketenvApp

    reserved: dict[str, Binding] = {}
    for binding in _own_bindings(PocketenvApp):
        if binding.priority:
            for key in _split_keys(binding.key):
                reserved[key] = binding
    return reserved


def check_keymap(keymap: dict[str, str]) -> KeymapCheck:
    """Split ``keymap`` into the remaps that are safe to apply and a sentence per one left out."""
    scopes = binding_scopes()
    ids = {binding.id for bindings in scopes.values() for binding in bindings if binding.id}
    reserved = _global_keys()
    applied: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        wanted = _split_keys(keys)
        if binding_id not in ids:
            problems.append(
                f"keymap: no binding has the id {binding_id!r} (press ? to see each key's id)."
            )
            continue
        if not wanted:
            problems.append(f"keymap: {binding_id!r} is given no key.")
            continue
        clash = _clash(binding_id, wanted, keymap, scopes, reserved)
        if clash:
            problems.append(f"keymap: {binding_id} → {keys} not applied: {clash}.")
            continue
        applied[binding_id] = ",".join(wanted)
    return KeymapCheck(applied, problems)


def _clash(
    binding_id: str,
    wanted: tuple[str, ...],
    keymap: dict[str, str],
    scopes: dict[str, list[Binding]],
    reserved: dict[str, Binding],
) -> str | None:
    """Why giving ``wanted`` to ``binding_id`` would make another binding unreachable."""
    for key in wanted:
        other = reserved.get(key)
        if other is not None and other.id != binding_id:
            return f"{key} is {other.description or other.action} ({other.id}) everywhere"
    for scope, bindings in scopes.items():
        if not any(binding.id == binding_id for binding in bindings):
            continue
        for other in bindings:
            if other.id == binding_id:
                continue
            # The other binding's keys as they will be once the keymap is applied.
            other_keys = _split_keys(keymap[other.id]) if other.id in keymap else _split_keys(other.key)
            taken = set(wanted) & set(other_keys)
            if taken:
                what = other.description or other.action
                named = f" ({other.id})" if other.id else ""
                return f"{sorted(taken)[0]} is already {what}{named} in {scope}"
    return None
