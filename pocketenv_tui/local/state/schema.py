"""The local backend's SQLite schema: tables, the columns code may name, later additions."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    did TEXT NOT NULL UNIQUE,
    handle TEXT NOT NULL,
    display_name TEXT,
    avatar TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sandboxes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner_did TEXT NOT NULL REFERENCES users(did) ON DELETE CASCADE,
    base TEXT NOT NULL,
    provider TEXT NOT NULL,
    display_name TEXT,
    description TEXT,
    topics TEXT,
    repo TEXT,
    logo TEXT,
    readme TEXT,
    uri TEXT,
    vcpus INTEGER,
    memory INTEGER,
    disk INTEGER,
    keep_alive INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    warnings TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    host_uid INTEGER UNIQUE
);
CREATE TABLE IF NOT EXISTS secrets (
    id TEXT PRIMARY KEY,
    owner_did TEXT NOT NULL,
    sandbox_id TEXT REFERENCES sandboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sandbox_id, name)
);
CREATE TABLE IF NOT EXISTS variables (
    id TEXT PRIMARY KEY,
    owner_did TEXT NOT NULL,
    sandbox_id TEXT REFERENCES sandboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sandbox_id, name)
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner_did TEXT NOT NULL,
    sandbox_id TEXT REFERENCES sandboxes(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    content_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sandbox_id, path)
);
CREATE TABLE IF NOT EXISTS volumes (
    id TEXT PRIMARY KEY,
    owner_did TEXT NOT NULL,
    sandbox_id TEXT REFERENCES sandboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT,
    read_only INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sandbox_id, path)
);
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    description TEXT,
    ports TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'STOPPED',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sandbox_id, name)
);
CREATE TABLE IF NOT EXISTS ports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    port INTEGER NOT NULL,
    target_port INTEGER NOT NULL,
    description TEXT,
    preview_token TEXT NOT NULL UNIQUE,
    service_id TEXT REFERENCES services(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (sandbox_id, port)
);
CREATE TABLE IF NOT EXISTS ssh_keys (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL UNIQUE REFERENCES sandboxes(id) ON DELETE CASCADE,
    private_key_sealed TEXT NOT NULL,
    public_key TEXT NOT NULL,
    redacted TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tailscale_keys (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL UNIQUE REFERENCES sandboxes(id) ON DELETE CASCADE,
    auth_key_sealed TEXT NOT NULL,
    redacted TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS backups (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    directory TEXT NOT NULL,
    description TEXT,
    expires_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sandboxes_owner ON sandboxes(owner_did, created_at);
-- Added after the first release; CREATE ... IF NOT EXISTS runs on every open, so an older
-- state.db gets it too. No foreign key on purpose: a deleted sandbox's events stay (the
-- event log shows that it was deleted). seq only grows (AUTOINCREMENT never reuses one).
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_did TEXT NOT NULL,
    sandbox_id TEXT NOT NULL,
    sandbox_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_owner ON events(owner_did, seq);
CREATE INDEX IF NOT EXISTS events_sandbox ON events(sandbox_id, seq);
"""

# The four per-sandbox resource tables share one shape: id, owner, optional sandbox link and
# their own value columns. Only these names are ever interpolated into SQL.
RESOURCE_TABLES = {
    "secrets": ("name", "value_sealed"),
    "variables": ("name", "value"),
    "files": ("path", "content_sealed"),
    "volumes": ("name", "path", "read_only"),
}

SANDBOX_COLUMNS = (
    "id", "name", "owner_did", "base", "provider", "display_name", "description", "topics", "repo",
    "logo", "readme", "uri", "vcpus", "memory", "disk", "keep_alive", "status", "warnings",
    "created_at", "started_at", "host_uid",
)
# Columns added after the first release: (table, column, declaration) for older state.db files.
MIGRATIONS = (("sandboxes", "host_uid", "INTEGER"),)
