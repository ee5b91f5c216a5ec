namespace SoftPrompt.Server.Store;

/// <summary>
/// What the server keeps: tenants and their hashed API keys, tasks and their adapters, jobs, usage. Two implementations:
/// <see cref="SqliteStore"/> (one file under the data directory, one process) and <see cref="PostgresStore"/> (one
/// database shared by several replicas). Every method that takes a tenant id answers only that tenant's rows: another
/// tenant's id finds nothing, exactly like an id that does not exist.
/// </summary>
public interface IStore : IDisposable
{
    /// <summary>Where the store is, for logs and the CLI (a PostgreSQL location never includes the password).</summary>
    string Description { get; }

    /// <summary>This process's data directory: the SQLite file, and the adapters' folders (with PostgreSQL: this replica's cache of them).</summary>
    string DataDir { get; }

    /// <summary>The last schema migration applied.</summary>
    int SchemaVersion { get; }

    // Tenants and API keys. A key is returned once when made; the store keeps its SHA-256 only.

    /// <summary>On a store with no API key yet: an admin tenant and its key (returned once, for the operator); otherwise null.</summary>
    string? EnsureAdmin();

    /// <summary>A new tenant and its first API key (returned once; only its hash is stored).</summary>
    (Tenant Tenant, string Key) CreateTenant(string name, bool isAdmin = false);

    /// <summary>Another key for an existing tenant (returned once); an unknown tenant is an <see cref="ArgumentException"/> naming it.</summary>
    string CreateKey(string tenantId, string label);

    /// <summary>The tenant a key belongs to, or null (also for a revoked key).</summary>
    Tenant? FindTenantByKey(string key);

    Tenant? GetTenant(string tenantId);

    IReadOnlyList<TenantSummary> ListTenants();

    /// <summary>Every key (or one tenant's), by hash prefix and label: never the key.</summary>
    IReadOnlyList<ApiKeyInfo> ListKeys(string? tenantId = null);

    /// <summary>Revokes the one key whose hash starts with the prefix (at least <see cref="StoreIds.MinRevokePrefixLength"/>
    /// hex digits) and returns it; null when none matches; an <see cref="ArgumentException"/> when the prefix is malformed
    /// or matches several keys.</summary>
    ApiKeyInfo? RevokeKey(string hashPrefix);

    /// <summary>Deletes the tenant with its keys, tasks (and their adapters), jobs and usage; true when there was one.</summary>
    bool DeleteTenant(string tenantId);

    // Tasks and their adapters.

    void InsertTask(TaskRecord task);

    /// <summary>The tenant's task, or null — also when the id is another tenant's or not a task id at all.</summary>
    TaskRecord? GetTask(string tenantId, string id);

    IReadOnlyList<TaskRecord> ListTasks(string tenantId);

    /// <summary>A task's state and prompt description after it was made (the job runner's last step); false when the task is gone.</summary>
    bool UpdateTask(string taskId, string state, string promptJson);

    /// <summary>Deletes the tenant's task row, its jobs and its adapter (files, rows, this process's copy); true when there was one.</summary>
    bool DeleteTask(string tenantId, string id);

    /// <summary>
    /// This process's folder for the task's adapter (DATA/adapters/&lt;task id&gt;): where a new adapter is written before
    /// <see cref="SaveAdapter"/>, and where <see cref="MaterializeAdapter"/> puts it. Only server-made task ids become a
    /// path; anything else is an <see cref="ArgumentException"/>.
    /// </summary>
    string AdapterPath(string taskId);

    /// <summary>Makes the adapter files in <paramref name="directory"/> the task's, for every replica. Called before the
    /// task's row is inserted (a crash in between leaves an unreferenced adapter, never a task without one).</summary>
    void SaveAdapter(string taskId, string directory);

    /// <summary>A local folder holding the task's adapter, ready for <c>AdapterDirectory.Load</c>: fetched from the
    /// database into this replica's cache first when needed.</summary>
    string MaterializeAdapter(string taskId);

    /// <summary>Removes the task's adapter (stored files and the local folder); used when its task row could not be inserted.</summary>
    void DeleteAdapter(string taskId);

    // Jobs: the asynchronous training of a task's prompt, claimed by one replica at a time.

    JobRecord EnqueueJob(string tenantId, string taskId, string method, string requestJson);

    /// <summary>
    /// Claims the oldest queued job, or a running one whose heartbeat is older than <paramref name="staleAfter"/> (its
    /// replica died), for <paramref name="replicaId"/>: it becomes running, claimed by that replica, heartbeat now,
    /// attempts + 1. A stale job already claimed <paramref name="maxAttempts"/> times fails instead (it may be what kills
    /// replicas). Two replicas claiming at once never get the same job. Null when there is nothing to do.
    /// </summary>
    JobRecord? ClaimNextJob(string replicaId, TimeSpan staleAfter, int maxAttempts = 3);

    /// <summary>The claimant says it is alive; false when the job is no longer its to run (cancelled, reclaimed, deleted): stop then.</summary>
    bool Heartbeat(string jobId, string replicaId);

    /// <summary>Progress in [0, 1] (a heartbeat too); false as for <see cref="Heartbeat"/>.</summary>
    bool UpdateJobProgress(string jobId, string replicaId, double progress);

    /// <summary>Ends the claimant's running job as succeeded (with its result) or failed (with the error); false when the
    /// job was not the replica's to finish (cancelled or reclaimed meanwhile).</summary>
    bool FinishJob(string jobId, string replicaId, JobState final, string? resultJson, string? error);

    /// <summary>Cancels the tenant's queued or running job (a running one's replica learns it at its next heartbeat) and
    /// returns it as it is now: already finished jobs come back unchanged. Null when the tenant has no such job.</summary>
    JobRecord? CancelJob(string tenantId, string jobId);

    JobRecord? GetJob(string tenantId, string jobId);

    /// <summary>The tenant's jobs, newest first.</summary>
    IReadOnlyList<JobRecord> ListJobs(string tenantId);

    // Usage.

    /// <summary>One request's tokens, against the model it used (the base model's name or a task id).</summary>
    void RecordUsage(string tenantId, string model, int promptTokens, int completionTokens);

    /// <summary>Several requests' usage in one transaction (what <c>UsageRecorder</c> flushes).</summary>
    void RecordUsage(IReadOnlyList<UsageRecord> records);

    /// <summary>The tenant's usage per model since a time (everything when null), by model id.</summary>
    IReadOnlyList<UsageSummary> Usage(string tenantId, DateTimeOffset? since = null);
}
