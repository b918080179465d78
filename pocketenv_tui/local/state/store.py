"""SQLite persistence for the local backend (``state.db`` in the data dir).

All methods are synchronous and small; the server runs them on one dedicated thread through
:meth:`Store.call`, so the event loop never blocks on disk and SQLite sees a single writer.
Every write is one transaction: a failure leaves nothing half-written. Unique constraints
surface as :class:`Conflict`, which the API turns into 409.

Sealed values (secrets, file contents, SSH private keys, Tailscale keys) are stored exactly as
they arrived: sealed to the server's public key. Nothing here ever sees their plaintext.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pocketenv_tui.local.state.ids import now_iso
from pocketenv_tui.local.state.schema import MIGRATIONS, RESOURCE_TABLES, SANDBOX_COLUMNS, SCHEMA

T = TypeVar("T")

class Conflict(Exception):
    """A unique constraint refused the write (duplicate name, path, port...)."""


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


def _rows(rows: Iterable[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pocketenv-db")
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL keeps the database consistent after a crash and skips an fsync
        # per commit (a sandbox's create and start is several small commits).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        self._migrate()
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                file.chmod(0o600)

    def _migrate(self) -> None:
        for table, column, declaration in MIGRATIONS:
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                if column == "host_uid":
                    self._conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS sandboxes_host_uid ON sandboxes(host_uid)")

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one store method on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(sql, tuple(params))
            self._conn.execute("COMMIT")
            return cur.rowcount
        except sqlite3.IntegrityError as exc:
            self._conn.execute("ROLLBACK")
            if "UNIQUE" in str(exc):
                raise Conflict(str(exc)) from exc
            raise
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                self._conn.execute(sql, params)
            self._conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self._conn.execute("ROLLBACK")
            if "UNIQUE" in str(exc):
                raise Conflict(str(exc)) from exc
            raise
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _page(
        self, table: str, owner_did: str, match: tuple[str, Any], limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the owner's rows of ``table``, newest first, and the total; the
        ``(column, value)`` filter applies when value is not None. Only this module's
        constant table and column names reach the SQL."""
        where, params = "owner_did = ?", [owner_did]
        column, value = match
        if value is not None:
            where += f" AND {column} = ?"
            params.append(value)
        total = self._conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]
        rows = self._all(
            f"SELECT * FROM {table} WHERE {where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return rows, total

    def _one(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        return _row(self._conn.execute(sql, tuple(params)).fetchone())

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return _rows(self._conn.execute(sql, tuple(params)).fetchall())

    # -- users ------------------------------------------------------------------------------

    def ensure_user(self, user_id: str, did: str, handle: str, created_at: str) -> dict[str, Any]:
        self._write(
            "INSERT INTO users (id, did, handle, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(did) DO NOTHING",
            (user_id, did, handle, created_at, created_at),
        )
        return self.get_user(did)  # type: ignore[return-value]

    def get_user(self, did: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM users WHERE did = ?", (did,))

    # -- sandboxes --------------------------------------------------------------------------

    def insert_sandbox(self, row: dict[str, Any]) -> None:
        cols = [c for c in SANDBOX_COLUMNS if c in row]
        self._write(
            f"INSERT INTO sandboxes ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [row[c] for c in cols],
        )

    def get_sandbox(self, sandbox_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sandboxes WHERE id = ?", (sandbox_id,))

    def find_sandbox(self, ref: str, owner_did: str) -> dict[str, Any] | None:
        """The caller's sandbox whose id, name or uri is ``ref``."""
        return self._one(
            "SELECT * FROM sandboxes WHERE owner_did = ? AND (id = ? OR name = ? OR uri = ?)",
            (owner_did, ref, ref, ref),
        )

    def list_sandboxes(
        self, owner_did: str, limit: int, offset: int, status: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        return self._page("sandboxes", owner_did, ("status", status), limit, offset)

    def update_sandbox(self, sandbox_id: str, fields: dict[str, Any]) -> None:
        cols = [c for c in fields if c in SANDBOX_COLUMNS and c != "id"]
        if not cols:
            return
        self._write(
            f"UPDATE sandboxes SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
            [*(fields[c] for c in cols), sandbox_id],
        )

    def set_sandbox_status(
        self, sandbox_id: str, status: str, *, started_at: str | None = None, warnings: list[str] | None = None
    ) -> None:
        """Status change; a stop also marks every service of the sandbox STOPPED."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if status == "RUNNING":
            statements.append(
                ("UPDATE sandboxes SET status = ?, started_at = ?, warnings = ? WHERE id = ?",
                 (status, started_at or now_iso(), json.dumps(warnings) if warnings else None, sandbox_id))
            )
        else:
            statements.append(
                ("UPDATE sandboxes SET status = ?, warnings = COALESCE(?, warnings) WHERE id = ?",
                 (status, json.dumps(warnings) if warnings else None, sandbox_id))
            )
        if status == "STOPPED":
            statements.append(
                ("UPDATE services SET status = 'STOPPED' WHERE sandbox_id = ?", (sandbox_id,))
            )
        self._transaction(statements)

    def host_uid(self, sandbox_id: str, base: int, count: int) -> int:
        """The sandbox's own host uid: kept once given, else the lowest free one of the range."""
        row = self._one("SELECT host_uid FROM sandboxes WHERE id = ?", (sandbox_id,))
        if row is None:
            raise LookupError(f"sandbox {sandbox_id} no longer exists")
        if row["host_uid"] is not None:
            return int(row["host_uid"])
        used = {r[0] for r in self._conn.execute("SELECT host_uid FROM sandboxes WHERE host_uid IS NOT NULL")}
        uid = next((base + i for i in range(count) if base + i not in used), None)
        if uid is None:
            raise LookupError("every host uid of the sandbox range is in use")
        self._write("UPDATE sandboxes SET host_uid = ? WHERE id = ? AND host_uid IS NULL", (uid, sandbox_id))
        return uid

    def delete_sandbox(self, sandbox_id: str) -> None:
        self._write("DELETE FROM sandboxes WHERE id = ?", (sandbox_id,))

    def stop_all_sandboxes(self) -> int:
        """On server start: whatever was running died with the previous server process."""
        count = self._conn.execute(
            "SELECT COUNT(*) FROM sandboxes WHERE status != 'STOPPED'"
        ).fetchone()[0]
        self._transaction([
            ("UPDATE sandboxes SET status = 'STOPPED' WHERE status != 'STOPPED'", ()),
            ("UPDATE services SET status = 'STOPPED'", ()),
        ])
        return count

    def count_sandboxes_with_base(self, bases: Sequence[str]) -> int:
        """Sandboxes whose recorded base is one of ``bases``."""
        marks = ", ".join("?" * len(bases))
        return self._conn.execute(f"SELECT COUNT(*) FROM sandboxes WHERE base IN ({marks})", tuple(bases)).fetchone()[0]

    # -- secrets, variables, files, volumes -------------------------------------------------

    def add_resource(self, table: str, row: dict[str, Any]) -> None:
        cols = ["id", "owner_did", "sandbox_id", *RESOURCE_TABLES[table], "created_at", "updated_at"]
        now = now_iso()
        values = [row.get(c, now) if c in ("created_at", "updated_at") else row.get(c) for c in cols]
        self._write(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values)

    def list_resources(
        self, table: str, owner_did: str, sandbox_id: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        RESOURCE_TABLES[table]  # noqa: B018 - refuses any other table name
        return self._page(table, owner_did, ("sandbox_id", sandbox_id), limit, offset)

    def get_resource(self, table: str, resource_id: str, owner_did: str) -> dict[str, Any] | None:
        RESOURCE_TABLES[table]  # noqa: B018
        return self._one(f"SELECT * FROM {table} WHERE id = ? AND owner_did = ?", (resource_id, owner_did))

    def update_resource(self, table: str, resource_id: str, fields: dict[str, Any]) -> None:
        cols = [c for c in fields if c in (*RESOURCE_TABLES[table], "sandbox_id")]
        self._write(
            f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
            [*(fields[c] for c in cols), now_iso(), resource_id],
        )

    def delete_resource(self, table: str, resource_id: str) -> None:
        RESOURCE_TABLES[table]  # noqa: B018
        self._write(f"DELETE FROM {table} WHERE id = ?", (resource_id,))

    def sandbox_resources(self, table: str, sandbox_id: str) -> list[dict[str, Any]]:
        RESOURCE_TABLES[table]  # noqa: B018
        return self._all(f"SELECT * FROM {table} WHERE sandbox_id = ? ORDER BY created_at, rowid", (sandbox_id,))

    # -- services ---------------------------------------------------------------------------

    def add_service(self, row: dict[str, Any], port_rows: list[dict[str, Any]]) -> None:
        """The service and its port rows, together or not at all."""
        now = now_iso()
        statements: list[tuple[str, tuple[Any, ...]]] = [(
            "INSERT INTO services (id, sandbox_id, name, command, description, ports, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'STOPPED', ?, ?)",
            (row["id"], row["sandbox_id"], row["name"], row["command"], row.get("description"),
             json.dumps(row.get("ports") or []), now, now),
        )]
        statements += [self._port_insert(p) for p in port_rows]
        self._transaction(statements)

    def update_service(
        self, service_id: str, fields: dict[str, Any], port_rows: list[dict[str, Any]] | None
    ) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [(
            "UPDATE services SET name = ?, command = ?, description = ?, ports = COALESCE(?, ports), "
            "updated_at = ? WHERE id = ?",
            (fields["name"], fields["command"], fields.get("description"),
             json.dumps(fields["ports"]) if fields.get("ports") is not None else None, now_iso(), service_id),
        )]
        if port_rows is not None:
            statements.append(("DELETE FROM ports WHERE service_id = ?", (service_id,)))
            statements += [self._port_insert(p) for p in port_rows]
        self._transaction(statements)

    def get_service(self, service_id: str, owner_did: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT services.* FROM services JOIN sandboxes ON sandboxes.id = services.sandbox_id "
            "WHERE services.id = ? AND sandboxes.owner_did = ?",
            (service_id, owner_did),
        )

    def list_services(self, sandbox_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM services WHERE sandbox_id = ? ORDER BY created_at, rowid", (sandbox_id,))

    def set_service_status(self, service_id: str, status: str) -> None:
        self._write("UPDATE services SET status = ?, updated_at = ? WHERE id = ?", (status, now_iso(), service_id))

    def set_all_services_status(self, sandbox_id: str, status: str) -> None:
        self._write("UPDATE services SET status = ? WHERE sandbox_id = ?", (status, sandbox_id))

    def delete_service(self, service_id: str) -> None:
        self._write("DELETE FROM services WHERE id = ?", (service_id,))

    # -- ports ------------------------------------------------------------------------------

    @staticmethod
    def _port_insert(p: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        return (
            "INSERT INTO ports (sandbox_id, port, target_port, description, preview_token, service_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (p["sandbox_id"], p["port"], p.get("target_port", p["port"]), p.get("description"),
             p["preview_token"], p.get("service_id"), now_iso()),
        )

    def add_port(self, row: dict[str, Any]) -> None:
        self._transaction([self._port_insert(row)])

    def get_port(self, sandbox_id: str, port: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM ports WHERE sandbox_id = ? AND port = ?", (sandbox_id, port))

    def list_ports(self, sandbox_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM ports WHERE sandbox_id = ? ORDER BY port", (sandbox_id,))

    def delete_port(self, sandbox_id: str, port: int) -> int:
        return self._write("DELETE FROM ports WHERE sandbox_id = ? AND port = ?", (sandbox_id, port))

    def port_by_token(self, token: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT ports.*, sandboxes.status AS sandbox_status FROM ports "
            "JOIN sandboxes ON sandboxes.id = ports.sandbox_id WHERE preview_token = ?",
            (token,),
        )

    # -- ssh and tailscale keys -------------------------------------------------------------

    def put_ssh_keys(self, row: dict[str, Any]) -> None:
        now = now_iso()
        self._write(
            "INSERT INTO ssh_keys (id, sandbox_id, private_key_sealed, public_key, redacted, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sandbox_id) DO UPDATE SET "
            "private_key_sealed = excluded.private_key_sealed, public_key = excluded.public_key, "
            "redacted = excluded.redacted, updated_at = excluded.updated_at",
            (row["id"], row["sandbox_id"], row["private_key_sealed"], row["public_key"], row["redacted"], now, now),
        )

    def get_ssh_keys(self, sandbox_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM ssh_keys WHERE sandbox_id = ?", (sandbox_id,))

    def put_tailscale_key(self, row: dict[str, Any]) -> None:
        now = now_iso()
        self._write(
            "INSERT INTO tailscale_keys (id, sandbox_id, auth_key_sealed, redacted, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sandbox_id) DO UPDATE SET "
            "auth_key_sealed = excluded.auth_key_sealed, redacted = excluded.redacted, "
            "updated_at = excluded.updated_at",
            (row["id"], row["sandbox_id"], row["auth_key_sealed"], row["redacted"], now, now),
        )

    def get_tailscale_key(self, sandbox_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM tailscale_keys WHERE sandbox_id = ?", (sandbox_id,))

    # -- backups ----------------------------------------------------------------------------

    def add_backup(self, row: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO backups (id, sandbox_id, directory, description, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (row["id"], row["sandbox_id"], row["directory"], row.get("description"), row.get("expires_at"), now_iso()),
        )

    def list_backups(self, sandbox_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM backups WHERE sandbox_id = ? ORDER BY created_at DESC, rowid DESC", (sandbox_id,))

    def get_backup(self, backup_id: str, owner_did: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT backups.* FROM backups JOIN sandboxes ON sandboxes.id = backups.sandbox_id "
            "WHERE backups.id = ? AND sandboxes.owner_did = ?",
            (backup_id, owner_did),
        )

    def expired_backups(self, now: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM backups WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))

    def delete_backup(self, backup_id: str) -> None:
        self._write("DELETE FROM backups WHERE id = ?", (backup_id,))

    def backups_of(self, sandbox_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM backups WHERE sandbox_id = ?", (sandbox_id,))
