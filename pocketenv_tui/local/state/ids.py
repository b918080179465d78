"""Identifier and timestamp formats shared by the local backend (api.md §1.6)."""

from __future__ import annotations

import secrets
import string
import time
from datetime import UTC, datetime

_BASE62 = string.digits + string.ascii_letters
_XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # xid uses base32hex, lower case
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # ATProto TIDs use base32-sortable

_ADJECTIVES = (
    "amber", "brave", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fancy", "gentle",
    "golden", "happy", "jolly", "keen", "lively", "lucky", "mellow", "misty", "nimble", "noble",
    "proud", "quiet", "rapid", "rustic", "shiny", "silent", "snowy", "sunny", "swift", "tidy",
    "vivid", "witty",
)
_NOUNS = (
    "badger", "beacon", "breeze", "canyon", "cedar", "comet", "delta", "falcon", "forest", "harbor",
    "island", "lagoon", "maple", "meadow", "nebula", "orchid", "otter", "panda", "pebble", "pine",
    "quartz", "raven", "river", "summit", "tiger", "tulip", "valley", "walrus", "willow", "zephyr",
)


def sandbox_id() -> str:
    return "sbx_" + "".join(secrets.choice(_BASE62) for _ in range(20))


def xid(prefix: str) -> str:
    """``<prefix>_`` + 20 base32hex characters, like the hosted API's xid-based ids."""
    return prefix + "_" + "".join(secrets.choice(_XID_ALPHABET) for _ in range(20))


def tid() -> str:
    """A 13-character ATProto record key: microseconds since the epoch, then a random clock id."""
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def sandbox_name() -> str:
    """``adjective-noun-xxxx`` with four base-36 characters, as the hosted backends do."""
    suffix = "".join(secrets.choice(string.digits + string.ascii_lowercase) for _ in range(4))
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{suffix}"


def capability_token() -> str:
    """An unguessable URL-safe string (192 bits) used as a preview URL's credential."""
    return secrets.token_urlsafe(24)


def now_iso() -> str:
    """The current time the way JavaScript's ``toISOString`` writes it (millisecond precision, Z)."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
