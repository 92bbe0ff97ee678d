namespace Modal.Server.Store;

/// <summary>The SQLite schema as versioned migrations, each applied once (schema_migrations records them).</summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: the store-first core.
        """
        CREATE TABLE apps(id TEXT PRIMARY KEY, name TEXT NOT NULL, kind INTEGER NOT NULL, stopped INTEGER NOT NULL DEFAULT 0,
            created_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL, stopped_ms INTEGER, launch BLOB NOT NULL);
        CREATE INDEX apps_by_name ON apps(name, stopped);
        CREATE TABLE functions(id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
            warm_pool INTEGER NOT NULL DEFAULT -1, timeout_s INTEGER NOT NULL, max_retries INTEGER NOT NULL, backoff REAL NOT NULL,
            initial_delay_ms INTEGER NOT NULL, max_delay_ms INTEGER NOT NULL, batch_size INTEGER NOT NULL, batch_wait_ms INTEGER NOT NULL,
            ready INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, backlog_bytes INTEGER NOT NULL DEFAULT 0,
            startup_failures INTEGER NOT NULL DEFAULT 0, last_startup_error TEXT, UNIQUE(app_id, name));
        CREATE TABLE calls(id TEXT PRIMARY KEY, function_id TEXT NOT NULL, invocation INTEGER NOT NULL, parent_input_id TEXT,
            is_generator INTEGER NOT NULL, created_ms INTEGER NOT NULL, input_count INTEGER NOT NULL DEFAULT 0,
            unfinished INTEGER NOT NULL DEFAULT 0, inputs_complete INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,
            output_seq INTEGER NOT NULL DEFAULT 0, gen_attempt INTEGER NOT NULL DEFAULT 0, finished_ms INTEGER);
        CREATE INDEX calls_finished ON calls(finished_ms) WHERE finished_ms IS NOT NULL;
        CREATE INDEX calls_by_function ON calls(function_id);
        CREATE TABLE inputs(id TEXT PRIMARY KEY, call_id TEXT NOT NULL, function_id TEXT NOT NULL, idx INTEGER NOT NULL,
            args BLOB NOT NULL, args_size INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,
            retries_used INTEGER NOT NULL DEFAULT 0, internal_failures INTEGER NOT NULL DEFAULT 0, ready_at_ms INTEGER NOT NULL,
            holder TEXT, claimed_ms INTEGER, deadline_ms INTEGER, parent_input_id TEXT);
        CREATE INDEX inputs_ready ON inputs(function_id, ready_at_ms) WHERE status = 0 AND holder IS NULL;
        CREATE INDEX inputs_by_holder ON inputs(holder) WHERE holder IS NOT NULL;
        CREATE INDEX inputs_by_call ON inputs(call_id);
        CREATE INDEX inputs_by_parent ON inputs(parent_input_id) WHERE parent_input_id IS NOT NULL;
        CREATE TABLE outputs(call_id TEXT NOT NULL, seq INTEGER NOT NULL, input_id TEXT NOT NULL, idx INTEGER NOT NULL,
            result BLOB NOT NULL, PRIMARY KEY(call_id, seq)) WITHOUT ROWID;
        CREATE TABLE chunks(call_id TEXT NOT NULL, attempt INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY(call_id, attempt, idx)) WITHOUT ROWID;
        CREATE TABLE containers(id TEXT PRIMARY KEY, function_id TEXT NOT NULL, app_id TEXT NOT NULL, token_hash BLOB NOT NULL,
            replica TEXT NOT NULL, said_hello INTEGER NOT NULL DEFAULT 0, stop_requested INTEGER NOT NULL DEFAULT 0,
            kill_requested INTEGER NOT NULL DEFAULT 0, launched_ms INTEGER NOT NULL, startup_deadline_ms INTEGER NOT NULL,
            lease_expires_ms INTEGER, idle_since_ms INTEGER NOT NULL, running INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX containers_by_function ON containers(function_id);
        CREATE TABLE idempotency(key TEXT PRIMARY KEY, call_id TEXT NOT NULL, function_id TEXT NOT NULL, input_ids TEXT NOT NULL,
            created_ms INTEGER NOT NULL);
        CREATE INDEX idempotency_by_call ON idempotency(call_id);
        CREATE TABLE blobs(id TEXT PRIMARY KEY, size INTEGER NOT NULL, created_ms INTEGER NOT NULL);
        CREATE TABLE leader(name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms INTEGER NOT NULL);
        """,
        // 2: replicas announce their URLs, so that workers get every replica to fail over to.
        """
        CREATE TABLE replicas(id TEXT PRIMARY KEY, url TEXT NOT NULL, expires_ms INTEGER NOT NULL);
        """,
        // 3: security: API tokens (secrets hashed), content-addressed artifacts, and who may read each blob (space-separated).
        """
        ALTER TABLE blobs ADD COLUMN readers TEXT NOT NULL DEFAULT '';
        CREATE TABLE tokens(id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL, admin INTEGER NOT NULL, apps TEXT, expires_ms INTEGER,
            created_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '');
        CREATE TABLE artifacts(digest TEXT PRIMARY KEY, manifest BLOB NOT NULL, size INTEGER NOT NULL, created_ms INTEGER NOT NULL);
        """,
        // 4: deployed apps have immutable versions: each deploy adds app_versions row N (its artifact and launch) with function
        // rows of its own, so functions become unique per (app, name, version); SQLite changes a UNIQUE constraint only by
        // rebuilding the table. An app deployed before this migration becomes its version 1.
        """
        ALTER TABLE apps ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE app_versions(app_id TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL, launch BLOB NOT NULL,
            created_ms INTEGER NOT NULL, PRIMARY KEY(app_id, version)) WITHOUT ROWID;
        CREATE TABLE functions_versioned(id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
            warm_pool INTEGER NOT NULL DEFAULT -1, timeout_s INTEGER NOT NULL, max_retries INTEGER NOT NULL, backoff REAL NOT NULL,
            initial_delay_ms INTEGER NOT NULL, max_delay_ms INTEGER NOT NULL, batch_size INTEGER NOT NULL, batch_wait_ms INTEGER NOT NULL,
            ready INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, backlog_bytes INTEGER NOT NULL DEFAULT 0,
            startup_failures INTEGER NOT NULL DEFAULT 0, last_startup_error TEXT, version INTEGER NOT NULL DEFAULT 0, UNIQUE(app_id, name, version));
        INSERT INTO functions_versioned(id, app_id, name, spec, warm_pool, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms,
            batch_size, batch_wait_ms, ready, running, backlog_bytes, startup_failures, last_startup_error, version)
            SELECT f.id, f.app_id, f.name, f.spec, f.warm_pool, f.timeout_s, f.max_retries, f.backoff, f.initial_delay_ms, f.max_delay_ms,
                f.batch_size, f.batch_wait_ms, f.ready, f.running, f.backlog_bytes, f.startup_failures, f.last_startup_error,
                CASE WHEN a.kind = 1 THEN 1 ELSE 0 END
            FROM functions f LEFT JOIN apps a ON a.id = f.app_id;
        DROP TABLE functions;
        ALTER TABLE functions_versioned RENAME TO functions;
        UPDATE apps SET version = 1 WHERE kind = 1;
        INSERT INTO app_versions(app_id, version, digest, launch, created_ms) SELECT id, 1, '', launch, created_ms FROM apps WHERE kind = 1;
        """,
        // 5: idempotency keys of requests that create an object (AppCreate, BlobPut), mapped to what the first request made.
        """
        CREATE TABLE request_keys(key TEXT PRIMARY KEY, object_id TEXT NOT NULL, version INTEGER NOT NULL, created_ms INTEGER NOT NULL);
        CREATE INDEX request_keys_by_age ON request_keys(created_ms);
        """,
        // 6: variants and autoscaler updates. A variant is a function row of its own (its pool, its autoscaler) in its base's app
        // and version, found by (base_id, variant_key); its name is the base's, so declared functions alone are unique per
        // (app, name, version), which a rebuild of the table expresses as a partial index. scale_* hold FunctionUpdateAutoscaler's
        // settings over the spec (NULL: the spec's).
        """
        CREATE TABLE functions_variants(id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
            warm_pool INTEGER NOT NULL DEFAULT -1, timeout_s INTEGER NOT NULL, max_retries INTEGER NOT NULL, backoff REAL NOT NULL,
            initial_delay_ms INTEGER NOT NULL, max_delay_ms INTEGER NOT NULL, batch_size INTEGER NOT NULL, batch_wait_ms INTEGER NOT NULL,
            ready INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, backlog_bytes INTEGER NOT NULL DEFAULT 0,
            startup_failures INTEGER NOT NULL DEFAULT 0, last_startup_error TEXT, version INTEGER NOT NULL DEFAULT 0,
            base_id TEXT, variant_key TEXT NOT NULL DEFAULT '', overrides BLOB, parameters BLOB,
            scale_min INTEGER, scale_max INTEGER, scale_buffer INTEGER, scale_scaledown_s INTEGER);
        INSERT INTO functions_variants(id, app_id, name, spec, warm_pool, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms,
            batch_size, batch_wait_ms, ready, running, backlog_bytes, startup_failures, last_startup_error, version)
            SELECT id, app_id, name, spec, warm_pool, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms,
                batch_size, batch_wait_ms, ready, running, backlog_bytes, startup_failures, last_startup_error, version
            FROM functions;
        DROP TABLE functions;
        ALTER TABLE functions_variants RENAME TO functions;
        CREATE UNIQUE INDEX functions_declared ON functions(app_id, name, version) WHERE base_id IS NULL;
        CREATE UNIQUE INDEX functions_by_variant ON functions(base_id, variant_key) WHERE base_id IS NOT NULL;
        CREATE INDEX functions_by_app ON functions(app_id);
        """,
        // 7: what share of its input slots' time each container spent running inputs (its heartbeats say), for the autoscaler.
        "ALTER TABLE containers ADD COLUMN slot_utilization REAL;",
    ];
}
