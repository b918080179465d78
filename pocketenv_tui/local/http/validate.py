"""Input checks that answer 400 ``InvalidRequest`` naming the offending field.

Messages follow the wording of the hosted API's lexicon validator (api.md §1.1), e.g.
``Input must have the property "base"`` or ``Input/port can not be less than 1025``.
"""

from __future__ import annotations

from typing import Any

from pocketenv_tui.local.sandbox.isolation import SYSTEM_TOP_LEVEL
from pocketenv_tui.local.sandbox.specs import ENV_NAME


class XrpcError(Exception):
    """An error answered as ``{"error": name, "message": message}`` with ``status``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


def not_found(message: str, error: str = "XRPCNotSupported") -> XrpcError:
    return XrpcError(404, error, message)


def conflict(message: str) -> XrpcError:
    return XrpcError(409, "Conflict", message)


def _where(path: str, key: str) -> str:
    return f"{path}/{key}"


def obj(parent: dict[str, Any], key: str, path: str = "Input", *, required: bool = True) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise invalid(f'{path} must have the property "{key}"')
        return None
    if not isinstance(value, dict):
        raise invalid(f"{_where(path, key)} must be an object")
    return value


def string(
    parent: dict[str, Any], key: str, path: str = "Input", *, required: bool = True,
    min_len: int = 0, max_len: int | None = None, nullable: bool = False,
) -> str | None:
    value = parent.get(key)
    if value is None:
        if required and not nullable:
            raise invalid(f'{path} must have the property "{key}"')
        return None
    if not isinstance(value, str):
        raise invalid(f"{_where(path, key)} must be a string")
    if len(value) < min_len:
        raise invalid(f"{_where(path, key)} must not be shorter than {min_len} characters")
    if max_len is not None and len(value) > max_len:
        raise invalid(f"{_where(path, key)} must not be longer than {max_len} characters")
    if "\x00" in value:
        raise invalid(f"{_where(path, key)} must not contain NUL characters")
    return value


def integer(
    parent: dict[str, Any], key: str, path: str = "Input", *, required: bool = True,
    minimum: int | None = None, maximum: int | None = None,
) -> int | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise invalid(f'{path} must have the property "{key}"')
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{_where(path, key)} must be an integer")
    if minimum is not None and value < minimum:
        raise invalid(f"{_where(path, key)} can not be less than {minimum}")
    if maximum is not None and value > maximum:
        raise invalid(f"{_where(path, key)} can not be greater than {maximum}")
    return value


def number(
    parent: dict[str, Any], key: str, path: str = "Input", *, minimum: float, maximum: float
) -> float | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{_where(path, key)} must be a number")
    if not minimum <= value <= maximum:
        raise invalid(f"{_where(path, key)} must be between {minimum:g} and {maximum:g}")
    return float(value)


def boolean(parent: dict[str, Any], key: str, path: str = "Input") -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(f"{_where(path, key)} must be a boolean")
    return value


def _array(parent: dict[str, Any], key: str, path: str, max_items: int) -> list[Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(f"{_where(path, key)} must be an array")
    if len(value) > max_items:
        raise invalid(f"{_where(path, key)} must not have more than {max_items} elements")
    return value


def string_list(
    parent: dict[str, Any], key: str, path: str = "Input", *, max_items: int, item_max_len: int
) -> list[str] | None:
    value = _array(parent, key, path, max_items)
    if value is None:
        return None
    for i, item in enumerate(value):
        if not isinstance(item, str) or not 1 <= len(item) <= item_max_len:
            raise invalid(f"{_where(path, key)}/{i} must be a string of 1 to {item_max_len} characters")
    return value


def int_list(
    parent: dict[str, Any], key: str, path: str = "Input", *, minimum: int, maximum: int, max_items: int
) -> list[int] | None:
    value = _array(parent, key, path, max_items)
    if value is None:
        return None
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not minimum <= item <= maximum:
            raise invalid(f"{_where(path, key)}/{i} must be an integer from {minimum} to {maximum}")
    if len(set(value)) != len(value):
        raise invalid(f"{_where(path, key)} must not repeat a port")
    return value


def env_name(value: str, where: str) -> str:
    """Names become environment variables inside the sandbox, so they must be valid ones."""
    if not ENV_NAME.match(value):
        raise invalid(f"{where} must be a valid environment variable name (letters, digits, _; not starting with a digit)")
    return value


def sandbox_path(value: str, where: str) -> str:
    """An absolute path inside the sandbox (where files, volumes and copies go)."""
    if not value.startswith("/"):
        raise invalid(f"{where} must be an absolute path")
    if any(part == ".." for part in value.split("/")):
        raise invalid(f"{where} must not contain '..'")
    return value


# The sandbox's system directories are mounted read-only (or made) by the runtime at every
# start; a file or volume there could never be written or mounted.
SYSTEM_DIRS = tuple("/" + name for name in sorted(SYSTEM_TOP_LEVEL))
# Directories the sandbox needs as they are: files and volumes may sit beneath them, not on
# them (a volume on /home would hide the home, a file cannot replace /tmp).
SANDBOX_OWN = ("/tmp", "/home", "/home/sandbox")


def normalized_path(value: str) -> str:
    """``value`` with empty and ``.`` segments and any trailing slash dropped (``//etc/./x/`` -> ``/etc/x``)."""
    return "/" + "/".join(part for part in value.split("/") if part not in ("", "."))


def _beneath(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def mount_path(value: str, where: str, *, volume: bool) -> str:
    """A sandbox path a file (``volume=False``) or volume may be placed at.

    Refused, because the sandbox's next start could only fail: ``/`` itself; the system
    directories (``SYSTEM_DIRS``) and anything beneath them; ``/tmp``, ``/home`` and
    ``/home/sandbox`` themselves (a directory the sandbox needs cannot be a file or another
    mount).
    """
    sandbox_path(value, where)
    path = normalized_path(value)
    what = "a volume" if volume else "a file"
    if path == "/":
        raise invalid(f"{where} must not be / : the sandbox's root is built by the server at every start, so {what} cannot go there")
    for system in SYSTEM_DIRS:
        if _beneath(path, system):
            raise invalid(
                f"{where} must not be or lie beneath {system}: the sandbox's system directories are set up by "
                f"the server at every start, so {what} there would make the next start fail"
            )
    if path in SANDBOX_OWN:
        raise invalid(
            f"{where} must not be {path} itself: the sandbox needs its own {path} directory at every start "
            f"({what} beneath it, e.g. {path}/data, is fine)"
        )
    return value
