using System.Data.Common;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The SQL both databases speak: every statement here runs unchanged on SQLite and PostgreSQL (named parameters
/// <c>@x</c>, the same tables and columns), and every row is mapped to its record here, once. What differs lives in the
/// two subclasses: connecting, how a timestamp is bound and read, the claim's row lock, the migrations, and where
/// adapter files live.
/// </summary>
public abstract class SqlStore : IStore
{
    public const string AdaptersFolder = "adapters";

    const string TaskColumns = "id, tenant_id, name, method, design, created_at, state, prompt_json";
    const string JobColumns = "id, tenant_id, task_id, method, state, progress, request_json, result_json, error, claimed_by, heartbeat_at, attempts, created_at, updated_at";

    protected SqlStore(string dataDir, TimeProvider? clock)
    {
        DataDir = Path.GetFullPath(dataDir);
        Clock = clock ?? TimeProvider.System;
    }

    public string DataDir { get; }

    /// <summary>The clock every timestamp comes from (a test moves it to make a heartbeat stale).</summary>
    protected TimeProvider Clock { get; }

    /// <summary>Recently read keys' tenants and ready tasks (<see cref="CacheReads"/>); null: every read asks the database.</summary>
    ReadCache? _reads;

    /// <summary>Keeps what <see cref="FindTenantByKey"/> and <see cref="GetTask"/> found for <paramref name="timeToLive"/> (zero: off, the default).</summary>
    public void CacheReads(TimeSpan timeToLive) => _reads = timeToLive > TimeSpan.Zero ? new ReadCache(timeToLive, Clock) : null;

    public abstract string Description { get; }

    /// <summary>An open connection; the caller disposes it.</summary>
    protected abstract DbConnection Connect();

    /// <summary>A timestamp as this database's parameter value (SQLite: ISO 8601 text; PostgreSQL: timestamptz).</summary>
    protected abstract object Timestamp(DateTimeOffset t);

    protected abstract DateTimeOffset ReadTimestamp(DbDataReader r, int ordinal);

    /// <summary>Appended to the claim's row choice: PostgreSQL's FOR UPDATE SKIP LOCKED; nothing on SQLite, whose write transaction already excludes every other writer.</summary>
    protected virtual string ClaimRowLock => "";

    /// <summary>Called first in the transaction that makes the first admin, so two processes starting on an empty store make one.</summary>
    protected virtual void SerializeFirstAdmin(DbConnection c, DbTransaction tx) { }

    /// <summary>Deletes stored adapter files of the tasks the where clause (over tasks, parameters @t and @id) selects, inside the deleting transaction.</summary>
    protected virtual void DeleteStoredAdapters(DbConnection c, DbTransaction tx, string taskWhere, params (string, object?)[] args) { }

    /// <summary>Now, to the microsecond (PostgreSQL's resolution, so a timestamp reads back equal on both databases).</summary>
    protected DateTimeOffset Now()
    {
        var t = Clock.GetUtcNow();
        return t.AddTicks(-(t.Ticks % 10));
    }

    public int SchemaVersion
    {
        get
        {
            using var c = Connect();
            return Convert.ToInt32(Scalar(c, null, "SELECT version FROM schema_version"));
        }
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    // --- tenants and keys ---

    public string? EnsureAdmin()
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        SerializeFirstAdmin(c, tx);
        if (Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM api_keys")) > 0) return null;
        var (_, key) = CreateTenant(c, tx, "admin", isAdmin: true);
        tx.Commit();
        return key;
    }

    public (Tenant Tenant, string Key) CreateTenant(string name, bool isAdmin = false)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("tenant name: must not be empty.");
        using var c = Connect();
        using var tx = c.BeginTransaction();
        var made = CreateTenant(c, tx, name, isAdmin);
        tx.Commit();
        return made;
    }

    (Tenant, string) CreateTenant(DbConnection c, DbTransaction tx, string name, bool isAdmin)
    {
        var tenant = new Tenant(StoreIds.NewTenantId(), name, isAdmin);
        string key = StoreIds.NewKey();
        Exec(c, tx, "INSERT INTO tenants (id, name, is_admin, created_at) VALUES (@id, @name, @admin, @at)",
            ("@id", tenant.Id), ("@name", name), ("@admin", isAdmin), ("@at", Timestamp(Now())));
        InsertKey(c, tx, key, tenant.Id, "first key");
        return (tenant, key);
    }

    public string CreateKey(string tenantId, string label)
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        if (Scalar(c, tx, "SELECT id FROM tenants WHERE id = @t", ("@t", tenantId)) is null)
            throw new ArgumentException($"tenant '{tenantId}': no such tenant.");
        string key = StoreIds.NewKey();
        InsertKey(c, tx, key, tenantId, label);
        tx.Commit();
        return key;
    }

    void InsertKey(DbConnection c, DbTransaction tx, string key, string tenantId, string label) =>
        Exec(c, tx, "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES (@h, @t, @l, @at)",
            ("@h", StoreIds.HashKey(key)), ("@t", tenantId), ("@l", label), ("@at", Timestamp(Now())));

    public Tenant? FindTenantByKey(string key) => _reads is { } cache ? cache.TenantByKey(key, ReadTenantByKey) : ReadTenantByKey(key);

    Tenant? ReadTenantByKey(string key) => Query(
        "SELECT t.id, t.name, t.is_admin FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = @h",
        ReadTenant, ("@h", StoreIds.HashKey(key))).FirstOrDefault();

    public Tenant? GetTenant(string tenantId) =>
        Query("SELECT id, name, is_admin FROM tenants WHERE id = @t", ReadTenant, ("@t", tenantId)).FirstOrDefault();

    public IReadOnlyList<TenantSummary> ListTenants() => Query(
        """
        SELECT t.id, t.name, t.is_admin, t.created_at,
               (SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = t.id),
               (SELECT COUNT(*) FROM tasks x WHERE x.tenant_id = t.id)
        FROM tenants t ORDER BY t.created_at, t.id
        """,
        r => new TenantSummary(ReadTenant(r), ReadTimestamp(r, 3), Convert.ToInt32(r.GetValue(4)), Convert.ToInt32(r.GetValue(5))));

    public IReadOnlyList<ApiKeyInfo> ListKeys(string? tenantId = null) => tenantId is null
        ? Query("SELECT key_hash, tenant_id, label, created_at FROM api_keys ORDER BY created_at, key_hash", ReadKey)
        : Query("SELECT key_hash, tenant_id, label, created_at FROM api_keys WHERE tenant_id = @t ORDER BY created_at, key_hash", ReadKey, ("@t", tenantId));

    public ApiKeyInfo? RevokeKey(string hashPrefix)
    {
        if (!StoreIds.IsHex(hashPrefix) || hashPrefix.Length < StoreIds.MinRevokePrefixLength || hashPrefix.Length > 64)
            throw new ArgumentException($"key hash prefix '{hashPrefix}': {StoreIds.MinRevokePrefixLength} to 64 lowercase hex digits, as the key listing shows them.");
        using var c = Connect();
        using var tx = c.BeginTransaction();
        var matches = Query(c, tx, "SELECT key_hash, tenant_id, label, created_at FROM api_keys WHERE key_hash LIKE @p || '%' ORDER BY key_hash LIMIT 2",
            r => (Hash: r.GetString(0), Info: ReadKey(r)), ("@p", hashPrefix));
        if (matches.Count == 0) return null;
        if (matches.Count > 1) throw new ArgumentException($"key hash prefix '{hashPrefix}': matches several keys; give more digits.");
        Exec(c, tx, "DELETE FROM api_keys WHERE key_hash = @h", ("@h", matches[0].Hash));
        tx.Commit();
        _reads?.Clear();
        return matches[0].Info;
    }

    public bool DeleteTenant(string tenantId)
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        var taskIds = Query(c, tx, "SELECT id FROM tasks WHERE tenant_id = @t", r => r.GetString(0), ("@t", tenantId));
        DeleteStoredAdapters(c, tx, "tenant_id = @t", ("@t", tenantId));
        // Keys, tasks, jobs and usage go with the tenant (ON DELETE CASCADE).
        bool deleted = Exec(c, tx, "DELETE FROM tenants WHERE id = @t", ("@t", tenantId)) > 0;
        tx.Commit();
        _reads?.Clear();
        foreach (var id in taskIds) DeleteLocalAdapter(id);
        return deleted;
    }

    // --- tasks ---

    public void InsertTask(TaskRecord t)
    {
        using var c = Connect();
        // The tenant may have been deleted since its key was checked: then nothing is inserted, and the caller learns why.
        int inserted = Exec(c, null, $"INSERT INTO tasks ({TaskColumns}) SELECT @id, @t, @n, @m, @d, @at, @s, @p WHERE EXISTS (SELECT 1 FROM tenants WHERE id = @t)",
            ("@id", t.Id), ("@t", t.TenantId), ("@n", t.Name), ("@m", t.Method), ("@d", t.Design),
            ("@at", Timestamp(t.CreatedAt)), ("@s", t.State), ("@p", t.PromptJson));
        if (inserted == 0) throw new TenantGoneException(t.TenantId);
    }

    public TaskRecord? GetTask(string tenantId, string id)
    {
        if (!StoreIds.IsTaskId(id)) return null;
        TaskRecord? Read() => Query($"SELECT {TaskColumns} FROM tasks WHERE tenant_id = @t AND id = @id", ReadTask, ("@t", tenantId), ("@id", id)).FirstOrDefault();
        return _reads is { } cache ? cache.Task(tenantId, id, Read) : Read();
    }

    public IReadOnlyList<TaskRecord> ListTasks(string tenantId) =>
        Query($"SELECT {TaskColumns} FROM tasks WHERE tenant_id = @t ORDER BY created_at, id", ReadTask, ("@t", tenantId));

    public bool UpdateTask(string taskId, string state, string promptJson)
    {
        using var c = Connect();
        bool updated = Exec(c, null, "UPDATE tasks SET state = @s, prompt_json = @p WHERE id = @id", ("@s", state), ("@p", promptJson), ("@id", taskId)) > 0;
        _reads?.Clear();
        return updated;
    }

    public bool DeleteTask(string tenantId, string id)
    {
        if (!StoreIds.IsTaskId(id)) return false;
        bool deleted;
        using (var c = Connect())
        using (var tx = c.BeginTransaction())
        {
            DeleteStoredAdapters(c, tx, "tenant_id = @t AND id = @id", ("@t", tenantId), ("@id", id));
            deleted = Exec(c, tx, "DELETE FROM tasks WHERE tenant_id = @t AND id = @id", ("@t", tenantId), ("@id", id)) > 0;
            tx.Commit();
        }
        _reads?.Clear();
        if (deleted) DeleteLocalAdapter(id);
        return deleted;
    }

    // --- adapters: the local folder is common; where the files are kept for everyone is the subclass's ---

    public string AdapterPath(string taskId) =>
        StoreIds.IsTaskId(taskId) ? Path.Combine(DataDir, AdaptersFolder, taskId) : throw new ArgumentException($"not a task id: {taskId}");

    public abstract void SaveAdapter(string taskId, string directory);

    public abstract string MaterializeAdapter(string taskId);

    public virtual void DeleteAdapter(string taskId) => DeleteLocalAdapter(taskId);

    protected void DeleteLocalAdapter(string taskId)
    {
        string dir = AdapterPath(taskId);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    // --- jobs ---

    public JobRecord EnqueueJob(string tenantId, string taskId, string method, string requestJson)
    {
        var now = Timestamp(Now());
        string id = StoreIds.NewJobId();
        using var c = Connect();
        // The task must be the tenant's: the insert selects nothing otherwise.
        int inserted = Exec(c, null,
            $"""
            INSERT INTO jobs ({JobColumns})
            SELECT @id, @t, @task, @m, 'queued', 0, @req, NULL, NULL, NULL, NULL, 0, @now, @now
            WHERE EXISTS (SELECT 1 FROM tasks WHERE id = @task AND tenant_id = @t)
            """,
            ("@id", id), ("@t", tenantId), ("@task", taskId), ("@m", method), ("@req", requestJson), ("@now", now));
        if (inserted == 0) throw new TaskGoneException(taskId);
        return GetJob(tenantId, id)!;
    }

    public JobRecord? ClaimNextJob(string replicaId, TimeSpan staleAfter, int maxAttempts = 3)
    {
        if (staleAfter < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(staleAfter), staleAfter, "staleAfter must not be negative.");
        if (maxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(maxAttempts), maxAttempts, "maxAttempts must be at least 1.");
        var now = Now();
        object at = Timestamp(now), cutoff = Timestamp(now - staleAfter);
        using var c = Connect();
        using var tx = c.BeginTransaction();
        // A stale job that has been claimed maxAttempts times is failed, not handed to yet another replica.
        Exec(c, tx,
            "UPDATE jobs SET state = 'failed', error = @err, updated_at = @now WHERE state = 'running' AND heartbeat_at < @cutoff AND attempts >= @max",
            ("@err", $"abandoned: its replica stopped heartbeating, {maxAttempts} times."), ("@now", at), ("@cutoff", cutoff), ("@max", maxAttempts));
        const string claimable = "(state = 'queued' OR (state = 'running' AND heartbeat_at < @cutoff))";
        var claimed = Query(c, tx,
            $"""
            UPDATE jobs SET state = 'running', claimed_by = @r, heartbeat_at = @now, attempts = attempts + 1, updated_at = @now
            WHERE id = (SELECT id FROM jobs WHERE {claimable} ORDER BY created_at, id LIMIT 1{ClaimRowLock}) AND {claimable}
            RETURNING {JobColumns}
            """,
            ReadJob, ("@r", replicaId), ("@now", at), ("@cutoff", cutoff));
        tx.Commit();
        return claimed.FirstOrDefault();
    }

    public bool Heartbeat(string jobId, string replicaId)
    {
        using var c = Connect();
        return Exec(c, null, "UPDATE jobs SET heartbeat_at = @now, updated_at = @now WHERE id = @id AND claimed_by = @r AND state = 'running'",
            ("@now", Timestamp(Now())), ("@id", jobId), ("@r", replicaId)) > 0;
    }

    public bool UpdateJobProgress(string jobId, string replicaId, double progress)
    {
        if (!(progress >= 0 && progress <= 1)) throw new ArgumentOutOfRangeException(nameof(progress), progress, "progress must be in [0, 1].");
        using var c = Connect();
        return Exec(c, null, "UPDATE jobs SET progress = @p, heartbeat_at = @now, updated_at = @now WHERE id = @id AND claimed_by = @r AND state = 'running'",
            ("@p", progress), ("@now", Timestamp(Now())), ("@id", jobId), ("@r", replicaId)) > 0;
    }

    public bool FinishJob(string jobId, string replicaId, JobState final, string? resultJson, string? error)
    {
        if (final is not (JobState.Succeeded or JobState.Failed))
            throw new ArgumentException($"final state: succeeded or failed, got {JobStates.Name(final)}.", nameof(final));
        using var c = Connect();
        return Exec(c, null,
            """
            UPDATE jobs SET state = @s, result_json = @res, error = @err, progress = CASE WHEN @done THEN 1.0 ELSE progress END, updated_at = @now
            WHERE id = @id AND claimed_by = @r AND state = 'running'
            """,
            ("@s", JobStates.Name(final)), ("@res", resultJson), ("@err", error), ("@done", final == JobState.Succeeded),
            ("@now", Timestamp(Now())), ("@id", jobId), ("@r", replicaId)) > 0;
    }

    public JobRecord? CancelJob(string tenantId, string jobId)
    {
        if (!StoreIds.IsJobId(jobId)) return null;
        using (var c = Connect())
            Exec(c, null, "UPDATE jobs SET state = 'cancelled', updated_at = @now WHERE id = @id AND tenant_id = @t AND state IN ('queued', 'running')",
                ("@now", Timestamp(Now())), ("@id", jobId), ("@t", tenantId));
        return GetJob(tenantId, jobId);
    }

    public JobRecord? GetJob(string tenantId, string jobId) => StoreIds.IsJobId(jobId)
        ? Query($"SELECT {JobColumns} FROM jobs WHERE tenant_id = @t AND id = @id", ReadJob, ("@t", tenantId), ("@id", jobId)).FirstOrDefault()
        : null;

    public IReadOnlyList<JobRecord> ListJobs(string tenantId) =>
        Query($"SELECT {JobColumns} FROM jobs WHERE tenant_id = @t ORDER BY created_at DESC, id DESC", ReadJob, ("@t", tenantId));

    // --- usage ---

    public void RecordUsage(string tenantId, string model, int promptTokens, int completionTokens) =>
        RecordUsage([new UsageRecord(tenantId, model, promptTokens, completionTokens, Now())]);

    public void RecordUsage(IReadOnlyList<UsageRecord> records)
    {
        foreach (var r in records)
            if (r.PromptTokens < 0 || r.CompletionTokens < 0) throw new ArgumentOutOfRangeException(nameof(records), "token counts must not be negative.");
        if (records.Count == 0) return;
        using var c = Connect();
        using var tx = c.BeginTransaction();
        foreach (var r in records)
            // A tenant deleted since its request ran leaves no usage (and does not fail the other records of the batch).
            Exec(c, tx, "INSERT INTO usage (tenant_id, model, prompt_tokens, completion_tokens, at) SELECT @t, @m, @p, @c, @at WHERE EXISTS (SELECT 1 FROM tenants WHERE id = @t)",
                ("@t", r.TenantId), ("@m", r.Model), ("@p", r.PromptTokens), ("@c", r.CompletionTokens), ("@at", Timestamp(r.At)));
        tx.Commit();
    }

    public IReadOnlyList<UsageSummary> Usage(string tenantId, DateTimeOffset? since = null)
    {
        const string sums = "SELECT model, COUNT(*), CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT) FROM usage";
        static UsageSummary Read(DbDataReader r) =>
            new(r.GetString(0), Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)));
        return since is { } s
            ? Query($"{sums} WHERE tenant_id = @t AND at >= @since GROUP BY model ORDER BY model", Read, ("@t", tenantId), ("@since", Timestamp(s)))
            : Query($"{sums} WHERE tenant_id = @t GROUP BY model ORDER BY model", Read, ("@t", tenantId));
    }

    // --- rows to records, in one place ---

    static Tenant ReadTenant(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetBoolean(2));

    ApiKeyInfo ReadKey(DbDataReader r) => new(r.GetString(0)[..StoreIds.KeyHashPrefixLength], r.GetString(1), r.GetString(2), ReadTimestamp(r, 3));

    TaskRecord ReadTask(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
        ReadTimestamp(r, 5), r.GetString(6), r.GetString(7));

    JobRecord ReadJob(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), JobStates.Parse(r.GetString(4)),
        r.GetDouble(5), r.GetString(6), NullableString(r, 7), NullableString(r, 8), NullableString(r, 9),
        r.IsDBNull(10) ? null : ReadTimestamp(r, 10), Convert.ToInt32(r.GetValue(11)), ReadTimestamp(r, 12), ReadTimestamp(r, 13));

    static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    // --- commands ---

    protected static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    protected static int Exec(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    protected static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    protected static List<T> Query<T>(DbConnection c, DbTransaction? tx, string sql, Func<DbDataReader, T> read, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(read(r));
        return list;
    }

    List<T> Query<T>(string sql, Func<DbDataReader, T> read, params (string, object?)[] args)
    {
        using var c = Connect();
        return Query(c, null, sql, read, args);
    }
}
