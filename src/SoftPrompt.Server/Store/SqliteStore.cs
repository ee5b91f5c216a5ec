using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The store: one SQLite file (DATA/softprompt.db) in WAL mode, so readers never wait for the writer. Rows hold tenants,
/// hashed API keys and tasks; a task's adapter is a folder of files (DATA/adapters/&lt;task id&gt;/, see
/// <see cref="AdapterPath"/>), not a blob in a row. Every call opens its own connection (no pooling: the file is closed
/// when the call ends, so a stopped server leaves nothing open).
/// </summary>
public sealed class SqliteStore
{
    public const string FileName = "softprompt.db", AdaptersFolder = "adapters";
    readonly string _connectionString;

    public string DataDir { get; }

    SqliteStore(string dataDir)
    {
        DataDir = Path.GetFullPath(dataDir);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataDir, FileName), Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, ForeignKeys = true, DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Opens (or creates) the store under dataDir and applies the schema migrations it lacks.</summary>
    public static SqliteStore Open(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var store = new SqliteStore(dataDir);
        Directory.CreateDirectory(Path.Combine(store.DataDir, AdaptersFolder));
        using var c = store.Connect();
        using (var wal = c.CreateCommand()) { wal.CommandText = "PRAGMA journal_mode=WAL"; wal.ExecuteNonQuery(); }
        Migrations.Apply(c);
        return store;
    }

    public int SchemaVersion { get { using var c = Connect(); return Migrations.Current(c); } }

    SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var busy = c.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=30000";
        busy.ExecuteNonQuery();
        return c;
    }

    static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The key's SHA-256 as lowercase hex: what the store keeps. Keys are 256 random bits, so a plain hash suffices (no salt or stretching).</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    static string NewKey() => "sp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new tenant and its first API key (returned once; only its hash is stored).</summary>
    public (Tenant Tenant, string Key) CreateTenant(string name, bool isAdmin = false)
    {
        var tenant = new Tenant("tenant-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), name, isAdmin);
        string key = NewKey();
        using var c = Connect();
        using var tx = c.BeginTransaction();
        Exec(c, tx, "INSERT INTO tenants (id, name, is_admin, created_at) VALUES ($id, $name, $admin, $at)",
            ("$id", tenant.Id), ("$name", name), ("$admin", isAdmin ? 1 : 0), ("$at", Now()));
        Exec(c, tx, "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES ($h, $t, $l, $at)",
            ("$h", HashKey(key)), ("$t", tenant.Id), ("$l", "first key"), ("$at", Now()));
        tx.Commit();
        return (tenant, key);
    }

    /// <summary>Another key for an existing tenant (returned once).</summary>
    public string CreateKey(string tenantId, string label)
    {
        string key = NewKey();
        using var c = Connect();
        Exec(c, null, "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES ($h, $t, $l, $at)",
            ("$h", HashKey(key)), ("$t", tenantId), ("$l", label), ("$at", Now()));
        return key;
    }

    /// <summary>On a store with no API key yet: an admin tenant and its key (returned once, for the operator); otherwise null.</summary>
    public string? EnsureAdmin()
    {
        using (var c = Connect())
        using (var q = c.CreateCommand())
        {
            q.CommandText = "SELECT COUNT(*) FROM api_keys";
            if (Convert.ToInt64(q.ExecuteScalar()) > 0) return null;
        }
        return CreateTenant("admin", isAdmin: true).Key;
    }

    /// <summary>The tenant a key belongs to, or null.</summary>
    public Tenant? FindTenantByKey(string key)
    {
        using var c = Connect();
        using var q = c.CreateCommand();
        q.CommandText = "SELECT t.id, t.name, t.is_admin FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $h";
        q.Parameters.AddWithValue("$h", HashKey(key));
        using var r = q.ExecuteReader();
        return r.Read() ? new Tenant(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0) : null;
    }

    public static string NewTaskId() => "task-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>True for ids of the form the server makes (task- and 16 hex digits): only these ever become a path.</summary>
    public static bool IsTaskId(string id) =>
        id.Length == 21 && id.StartsWith("task-", StringComparison.Ordinal) && id.AsSpan(5).ContainsAnyExcept("0123456789abcdef") is false;

    /// <summary>DATA/adapters/&lt;task id&gt;: built from a server-generated id only.</summary>
    public string AdapterPath(string taskId) =>
        IsTaskId(taskId) ? Path.Combine(DataDir, AdaptersFolder, taskId) : throw new ArgumentException($"not a task id: {taskId}");

    public void InsertTask(TaskRecord t)
    {
        using var c = Connect();
        Exec(c, null, "INSERT INTO tasks (id, tenant_id, name, method, design, created_at, state, prompt_json) VALUES ($id, $t, $n, $m, $d, $at, $s, $p)",
            ("$id", t.Id), ("$t", t.TenantId), ("$n", t.Name), ("$m", t.Method), ("$d", t.Design),
            ("$at", t.CreatedAt.ToString("O", CultureInfo.InvariantCulture)), ("$s", t.State), ("$p", t.PromptJson));
    }

    /// <summary>The tenant's task, or null — also when the id is another tenant's.</summary>
    public TaskRecord? GetTask(string tenantId, string id)
    {
        if (!IsTaskId(id)) return null;
        return QueryTasks("WHERE tenant_id = $t AND id = $id", ("$t", tenantId), ("$id", id)).FirstOrDefault();
    }

    public IReadOnlyList<TaskRecord> ListTasks(string tenantId) => QueryTasks("WHERE tenant_id = $t ORDER BY created_at, id", ("$t", tenantId));

    /// <summary>Deletes the tenant's task row; true when there was one.</summary>
    public bool DeleteTask(string tenantId, string id)
    {
        if (!IsTaskId(id)) return false;
        using var c = Connect();
        return Exec(c, null, "DELETE FROM tasks WHERE tenant_id = $t AND id = $id", ("$t", tenantId), ("$id", id)) > 0;
    }

    List<TaskRecord> QueryTasks(string where, params (string, object)[] args)
    {
        using var c = Connect();
        using var q = c.CreateCommand();
        q.CommandText = "SELECT id, tenant_id, name, method, design, created_at, state, prompt_json FROM tasks " + where;
        foreach (var (n, v) in args) q.Parameters.AddWithValue(n, v);
        using var r = q.ExecuteReader();
        var list = new List<TaskRecord>();
        while (r.Read())
            list.Add(new TaskRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                DateTimeOffset.Parse(r.GetString(5), CultureInfo.InvariantCulture), r.GetString(6), r.GetString(7)));
        return list;
    }

    static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd.ExecuteNonQuery();
    }
}
