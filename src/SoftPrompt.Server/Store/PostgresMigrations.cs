using Npgsql;

namespace SoftPrompt.Server.Store;

/// <summary>
/// PostgreSQL's versioned schema migrations, numbered as <see cref="SqliteMigrations"/>' (the same tables, PostgreSQL's
/// types: timestamptz, boolean, bytea). All pending migrations run in one transaction that first takes an advisory lock,
/// so replicas starting together wait for one another instead of racing: the first applies them, the others find them
/// applied. A new migration is appended here, never edited once shipped.
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The advisory lock key migrations (and the first admin) serialise on: "softprompt" in ASCII, truncated to 64 bits.</summary>
    public const long LockKey = 0x736F_6674_7072_6F6D;

    static readonly string[] All =
    [
        // 1: tenants, their API keys (SHA-256 of the key, never the key), tasks.
        """
        CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            is_admin BOOLEAN NOT NULL DEFAULT FALSE,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE api_keys (
            key_hash TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            method TEXT NOT NULL,
            design TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            state TEXT NOT NULL,
            prompt_json TEXT NOT NULL
        );
        CREATE INDEX tasks_by_tenant ON tasks(tenant_id, created_at);
        """,
        // 2: jobs and usage (as SQLite's 2), and task_files: the adapters' files, since replicas share no filesystem.
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            progress DOUBLE PRECISION NOT NULL DEFAULT 0,
            request_json TEXT NOT NULL,
            result_json TEXT,
            error TEXT,
            claimed_by TEXT,
            heartbeat_at TIMESTAMPTZ,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX jobs_by_state ON jobs(state, created_at);
        CREATE INDEX jobs_by_tenant ON jobs(tenant_id, created_at);
        CREATE INDEX jobs_by_task ON jobs(task_id);
        CREATE TABLE usage (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX usage_by_tenant ON usage(tenant_id, at);
        -- No foreign key to tasks: an adapter is saved before its task row (as on SQLite's disk), and deleted with it by the store.
        CREATE TABLE task_files (
            task_id TEXT NOT NULL,
            name TEXT NOT NULL,
            bytes BYTEA NOT NULL,
            PRIMARY KEY (task_id, name)
        );
        """,
    ];

    public static int Latest => All.Length;

    public static void Apply(NpgsqlConnection c)
    {
        using var tx = c.BeginTransaction();
        Exec(c, tx, $"SELECT pg_advisory_xact_lock({LockKey})");
        Exec(c, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        Exec(c, tx, "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)");
        int current;
        using (var q = new NpgsqlCommand("SELECT version FROM schema_version", c, tx)) current = Convert.ToInt32(q.ExecuteScalar());
        if (current > All.Length)
            throw new InvalidOperationException($"the database's schema is version {current}, newer than this server's {All.Length}: run a newer softprompt.");
        for (int v = current + 1; v <= All.Length; v++)
        {
            Exec(c, tx, All[v - 1]);
            Exec(c, tx, $"UPDATE schema_version SET version = {v}");
        }
        tx.Commit();
    }

    static void Exec(NpgsqlConnection c, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }
}
