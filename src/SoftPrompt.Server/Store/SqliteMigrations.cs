using Microsoft.Data.Sqlite;

namespace SoftPrompt.Server.Store;

/// <summary>
/// SQLite's versioned schema migrations: schema_version holds the last one applied; each migration runs once, in order, in
/// a transaction with its version bump. A new migration is appended here, never edited once shipped; its number means
/// the same schema as <see cref="PostgresMigrations"/>' (PostgreSQL's types, and its task_files table).
/// </summary>
internal static class SqliteMigrations
{
    static readonly string[] All =
    [
        // 1: tenants, their API keys (SHA-256 of the key, never the key), tasks.
        """
        CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE api_keys (
            key_hash TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            method TEXT NOT NULL,
            design TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL,
            prompt_json TEXT NOT NULL
        );
        CREATE INDEX tasks_by_tenant ON tasks(tenant_id, created_at);
        """,
        // 2: jobs (a task's training, claimed by one replica at a time) and usage (tokens per request).
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            progress REAL NOT NULL DEFAULT 0,
            request_json TEXT NOT NULL,
            result_json TEXT,
            error TEXT,
            claimed_by TEXT,
            heartbeat_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_by_state ON jobs(state, created_at);
        CREATE INDEX jobs_by_tenant ON jobs(tenant_id, created_at);
        CREATE INDEX jobs_by_task ON jobs(task_id);
        CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX usage_by_tenant ON usage(tenant_id, at);
        """,
    ];

    public static int Latest => All.Length;

    public static void Apply(SqliteConnection c)
    {
        Exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        using (var init = c.CreateCommand())
        {
            init.CommandText = "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)";
            init.ExecuteNonQuery();
        }
        int current = Current(c);
        if (current > All.Length)
            throw new InvalidOperationException($"the store's schema is version {current}, newer than this server's {All.Length}: run a newer softprompt.");
        for (int v = current + 1; v <= All.Length; v++)
        {
            using var tx = c.BeginTransaction();
            using (var m = c.CreateCommand()) { m.Transaction = tx; m.CommandText = All[v - 1]; m.ExecuteNonQuery(); }
            using (var bump = c.CreateCommand()) { bump.Transaction = tx; bump.CommandText = "UPDATE schema_version SET version = $v"; bump.Parameters.AddWithValue("$v", v); bump.ExecuteNonQuery(); }
            tx.Commit();
        }
    }

    public static int Current(SqliteConnection c)
    {
        using var q = c.CreateCommand();
        q.CommandText = "SELECT version FROM schema_version";
        return Convert.ToInt32(q.ExecuteScalar());
    }

    static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
