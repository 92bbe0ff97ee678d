using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// The PostgreSQL schema as versioned migrations. Each is applied once, in its own transaction, under a transaction-level
/// advisory lock, so that several replicas starting at once apply each migration exactly once and the others wait and
/// then see it recorded in schema_migrations. Times are Unix milliseconds from the database's clock (modal_now_ms()).
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The advisory lock key that serializes migrations ("modal" in ASCII).</summary>
    private const long MigrationLock = 0x6d6f64616c;

    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: the store-first core.
        """
        CREATE FUNCTION modal_now_ms() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
        CREATE TABLE apps(id text PRIMARY KEY, name text NOT NULL, kind integer NOT NULL, stopped boolean NOT NULL DEFAULT false,
            created_ms bigint NOT NULL, heartbeat_ms bigint NOT NULL, stopped_ms bigint, launch bytea NOT NULL);
        CREATE INDEX apps_by_name ON apps(name, stopped);
        CREATE TABLE functions(id text PRIMARY KEY, app_id text NOT NULL, name text NOT NULL, spec bytea NOT NULL,
            warm_pool integer NOT NULL DEFAULT -1, timeout_s integer NOT NULL, max_retries integer NOT NULL, backoff double precision NOT NULL,
            initial_delay_ms integer NOT NULL, max_delay_ms integer NOT NULL, batch_size integer NOT NULL, batch_wait_ms integer NOT NULL,
            ready bigint NOT NULL DEFAULT 0, running bigint NOT NULL DEFAULT 0, backlog_bytes bigint NOT NULL DEFAULT 0,
            startup_failures integer NOT NULL DEFAULT 0, last_startup_error text, UNIQUE(app_id, name));
        CREATE TABLE calls(id text PRIMARY KEY, function_id text NOT NULL, invocation integer NOT NULL, parent_input_id text,
            is_generator boolean NOT NULL, created_ms bigint NOT NULL, input_count integer NOT NULL DEFAULT 0,
            unfinished integer NOT NULL DEFAULT 0, inputs_complete boolean NOT NULL DEFAULT false, cancelled boolean NOT NULL DEFAULT false,
            output_seq bigint NOT NULL DEFAULT 0, finished_ms bigint);
        CREATE INDEX calls_finished ON calls(finished_ms) WHERE finished_ms IS NOT NULL;
        CREATE INDEX calls_by_function ON calls(function_id);
        CREATE TABLE inputs(id text PRIMARY KEY, call_id text NOT NULL, function_id text NOT NULL, idx integer NOT NULL,
            args bytea NOT NULL, args_size bigint NOT NULL, status integer NOT NULL DEFAULT 0, attempt integer NOT NULL DEFAULT 0,
            retries_used integer NOT NULL DEFAULT 0, internal_failures integer NOT NULL DEFAULT 0, ready_at_ms bigint NOT NULL,
            holder text, claimed_ms bigint, deadline_ms bigint, parent_input_id text);
        CREATE INDEX inputs_ready ON inputs(function_id, ready_at_ms, call_id, idx) WHERE status = 0 AND holder IS NULL;
        CREATE INDEX inputs_by_holder ON inputs(holder) WHERE holder IS NOT NULL;
        CREATE INDEX inputs_by_call ON inputs(call_id);
        CREATE INDEX inputs_by_parent ON inputs(parent_input_id) WHERE parent_input_id IS NOT NULL;
        CREATE TABLE outputs(call_id text NOT NULL, seq bigint NOT NULL, input_id text NOT NULL, idx integer NOT NULL,
            result bytea NOT NULL, PRIMARY KEY(call_id, seq));
        CREATE TABLE chunks(call_id text NOT NULL, attempt integer NOT NULL, idx bigint NOT NULL, data bytea NOT NULL,
            PRIMARY KEY(call_id, attempt, idx));
        CREATE TABLE containers(id text PRIMARY KEY, function_id text NOT NULL, app_id text NOT NULL, token_hash bytea NOT NULL,
            replica text NOT NULL, said_hello boolean NOT NULL DEFAULT false, stop_requested boolean NOT NULL DEFAULT false,
            kill_requested boolean NOT NULL DEFAULT false, launched_ms bigint NOT NULL, startup_deadline_ms bigint NOT NULL,
            lease_expires_ms bigint, idle_since_ms bigint NOT NULL, running integer NOT NULL DEFAULT 0);
        CREATE INDEX containers_by_function ON containers(function_id);
        CREATE INDEX containers_by_app ON containers(app_id);
        CREATE TABLE idempotency(key text PRIMARY KEY, call_id text NOT NULL, function_id text NOT NULL, input_ids text[] NOT NULL,
            created_ms bigint NOT NULL);
        CREATE INDEX idempotency_by_call ON idempotency(call_id);
        CREATE INDEX idempotency_by_age ON idempotency(created_ms);
        CREATE TABLE blobs(id text PRIMARY KEY, size bigint NOT NULL, created_ms bigint NOT NULL);
        CREATE INDEX blobs_by_age ON blobs(created_ms);
        CREATE TABLE leader(name text PRIMARY KEY, holder text NOT NULL, expires_ms bigint NOT NULL);
        """,
        // 2: replicas announce their URLs, so that workers get every replica to fail over to.
        """
        CREATE TABLE replicas(id text PRIMARY KEY, url text NOT NULL, expires_ms bigint NOT NULL);
        """,
        // 3: security: API tokens (secrets hashed), content-addressed artifacts, and who may read each blob (space-separated).
        """
        ALTER TABLE blobs ADD COLUMN readers text NOT NULL DEFAULT '';
        CREATE TABLE tokens(id text PRIMARY KEY, secret_hash bytea NOT NULL, admin boolean NOT NULL, apps text, expires_ms bigint,
            created_ms bigint NOT NULL, revoked boolean NOT NULL DEFAULT false, description text NOT NULL DEFAULT '');
        CREATE TABLE artifacts(digest text PRIMARY KEY, manifest bytea NOT NULL, size bigint NOT NULL, created_ms bigint NOT NULL);
        """,
        // 4: deployed apps have immutable versions: each deploy adds app_versions row N (its artifact and launch) with function
        // rows of its own, so functions become unique per (app, name, version). An app deployed before this migration becomes
        // its version 1.
        """
        ALTER TABLE apps ADD COLUMN version integer NOT NULL DEFAULT 0;
        ALTER TABLE functions ADD COLUMN version integer NOT NULL DEFAULT 0;
        ALTER TABLE functions DROP CONSTRAINT functions_app_id_name_key;
        ALTER TABLE functions ADD CONSTRAINT functions_app_id_name_version_key UNIQUE(app_id, name, version);
        CREATE TABLE app_versions(app_id text NOT NULL, version integer NOT NULL, digest text NOT NULL, launch bytea NOT NULL,
            created_ms bigint NOT NULL, PRIMARY KEY(app_id, version));
        UPDATE apps SET version = 1 WHERE kind = 1;
        UPDATE functions f SET version = 1 FROM apps a WHERE a.id = f.app_id AND a.kind = 1;
        INSERT INTO app_versions(app_id, version, digest, launch, created_ms) SELECT id, 1, '', launch, created_ms FROM apps WHERE kind = 1;
        """,
        // 5: idempotency keys of requests that create an object (AppCreate, BlobPut), mapped to what the first request made.
        """
        CREATE TABLE request_keys(key text PRIMARY KEY, object_id text NOT NULL, version integer NOT NULL, created_ms bigint NOT NULL);
        CREATE INDEX request_keys_by_age ON request_keys(created_ms);
        """,
        // 6: variants and autoscaler updates. A variant is a function row of its own (its pool, its autoscaler) in its base's app
        // and version, found by (base_id, variant_key): the unique index makes concurrent creations on several replicas agree on one
        // row. Its name is the base's, so declared functions alone are unique per (app, name, version). scale_* hold
        // FunctionUpdateAutoscaler's settings over the spec (NULL: the spec's).
        """
        ALTER TABLE functions ADD COLUMN base_id text, ADD COLUMN variant_key text NOT NULL DEFAULT '', ADD COLUMN overrides bytea,
            ADD COLUMN parameters bytea, ADD COLUMN scale_min integer, ADD COLUMN scale_max integer, ADD COLUMN scale_buffer integer,
            ADD COLUMN scale_scaledown_s integer;
        ALTER TABLE functions DROP CONSTRAINT functions_app_id_name_version_key;
        CREATE UNIQUE INDEX functions_declared ON functions(app_id, name, version) WHERE base_id IS NULL;
        CREATE UNIQUE INDEX functions_by_variant ON functions(base_id, variant_key) WHERE base_id IS NOT NULL;
        CREATE INDEX functions_by_app ON functions(app_id);
        """,
        // 7: what share of its input slots' time each container spent running inputs (its heartbeats say), for the autoscaler.
        "ALTER TABLE containers ADD COLUMN slot_utilization double precision;",
    ];

    /// <summary>Applies the migrations this database lacks; returns how many this call applied.</summary>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        int applied = 0;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        for (int version = 1; version <= Migrations.Count; version++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var tx = new PostgresTx(connection, transaction);
            // Under the lock, so that two replicas never race to create the table either.
            await tx.ExecuteAsync("SELECT pg_advisory_xact_lock($1)", MigrationLock).ConfigureAwait(false);
            await tx.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                .ConfigureAwait(false);
            if (await tx.ScalarAsync<int?>("SELECT version FROM schema_migrations WHERE version = $1", version).ConfigureAwait(false) is null)
            {
                await tx.ExecuteAsync(Migrations[version - 1]).ConfigureAwait(false);
                await tx.ExecuteAsync("INSERT INTO schema_migrations(version) VALUES($1)", version).ConfigureAwait(false);
                applied++;
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return applied;
    }
}
