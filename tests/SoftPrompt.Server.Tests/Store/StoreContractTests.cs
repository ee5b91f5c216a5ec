using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Store;

/// <summary>A clock the test moves: heartbeats go stale without waiting.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public override long GetTimestamp() => _now.UtcTicks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// What every store must do, run on SQLite (<see cref="SqliteStoreContractTests"/>) and on PostgreSQL
/// (<see cref="Postgres.PostgresStoreContractTests"/>). Each test has its own empty store; <see cref="OpenReplica"/>
/// opens another instance on the same database with its own data directory, as a second process or replica would.
/// </summary>
public abstract class StoreContractTests : IDisposable
{
    protected readonly ManualClock Clock = new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
    readonly List<IStore> _opened = [];
    readonly Lazy<IStore> _store;

    protected StoreContractTests() => _store = new(() => OpenReplica());

    protected IStore Store => _store.Value;

    /// <summary>A store instance on this test's database; the data directory is new unless given.</summary>
    protected IStore OpenReplica(string? dataDir = null)
    {
        var s = Open(dataDir ?? TestModels.NewDataDir());
        _opened.Add(s);
        return s;
    }

    protected abstract IStore Open(string dataDir);

    /// <summary>Every value of one text column of a table, read straight from the database.</summary>
    protected abstract List<string> ReadColumn(string table, string column);

    public void Dispose()
    {
        foreach (var s in _opened) s.Dispose();
        GC.SuppressFinalize(this);
    }

    protected TaskRecord AddTask(IStore store, string tenantId, string name = "t")
    {
        var t = new TaskRecord(StoreIds.NewTaskId(), tenantId, name, "metal", "hidden-state", Clock.GetUtcNow(), "ready", """{"length":2}""");
        store.InsertTask(t);
        return t;
    }

    static string WriteAdapterFolder(string content)
    {
        string dir = Path.Combine(TestModels.NewDataDir(), "made");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), content);
        File.WriteAllBytes(Path.Combine(dir, "adapter_model.safetensors"), [0, 1, 2, 255]);
        return dir;
    }

    [Fact]
    public void Migrations_apply_once_and_opening_again_changes_nothing()
    {
        Assert.Equal(2, Store.SchemaVersion);
        var (tenant, key) = Store.CreateTenant("kept");
        var again = OpenReplica(Store.DataDir);
        Assert.Equal(2, again.SchemaVersion);
        Assert.Equal(["2"], ReadColumn("schema_version", "CAST(version AS TEXT)"));
        Assert.Equal(tenant, again.FindTenantByKey(key));
    }

    [Fact]
    public void Keys_are_stored_hashed_and_listed_by_hash_prefix_only()
    {
        string admin = Store.EnsureAdmin()!;
        Assert.Null(Store.EnsureAdmin());
        var (tenant, key) = Store.CreateTenant("b");
        Clock.Advance(TimeSpan.FromSeconds(1));
        string second = Store.CreateKey(tenant.Id, "ci");
        Assert.Equal(tenant, Store.FindTenantByKey(second));
        Assert.True(Store.FindTenantByKey(admin)!.IsAdmin);
        Assert.Null(Store.FindTenantByKey(key + "0"));

        var hashes = ReadColumn("api_keys", "key_hash");
        Assert.Equal(3, hashes.Count);
        Assert.Contains(StoreIds.HashKey(key), hashes);
        foreach (var raw in new[] { admin, key, second })
            Assert.DoesNotContain(hashes, h => h.Contains(raw[3..], StringComparison.Ordinal));
        Assert.DoesNotContain(ReadColumn("api_keys", "label"), l => l.Contains(key, StringComparison.Ordinal));

        var listed = Store.ListKeys(tenant.Id);
        Assert.Equal(["first key", "ci"], listed.Select(k => k.Label));
        Assert.All(listed, k => Assert.Equal(StoreIds.KeyHashPrefixLength, k.HashPrefix.Length));
        Assert.Equal(StoreIds.HashKey(second)[..StoreIds.KeyHashPrefixLength], listed[1].HashPrefix);
        Assert.Equal(3, Store.ListKeys().Count);
    }

    [Fact]
    public void Cached_reads_see_this_store_s_writes_at_once_and_another_s_within_the_time_to_live()
    {
        var store = (SqlStore)OpenReplica();
        store.CacheReads(TimeSpan.FromSeconds(1));
        var other = OpenReplica();
        var (tenant, key) = store.CreateTenant("cached");
        var ready = AddTask(store, tenant.Id, "ready");
        var training = ready with { Id = StoreIds.NewTaskId(), State = "training" };
        store.InsertTask(training);
        Assert.Equal(tenant, store.FindTenantByKey(key));
        Assert.Equal(ready, store.GetTask(tenant.Id, ready.Id));
        Assert.Equal("training", store.GetTask(tenant.Id, training.Id)!.State);
        string late = StoreIds.NewTaskId();
        Assert.Null(store.GetTask(tenant.Id, late));

        // Another process's writes: what this store found is kept until the time to live has passed...
        Assert.NotNull(other.RevokeKey(StoreIds.HashKey(key)[..StoreIds.MinRevokePrefixLength]));
        Assert.True(other.DeleteTask(tenant.Id, ready.Id));
        Assert.True(other.UpdateTask(training.Id, "ready", """{"length":3}"""));
        other.InsertTask(ready with { Id = late });
        Assert.Equal(tenant, store.FindTenantByKey(key));
        Assert.Equal(ready, store.GetTask(tenant.Id, ready.Id));
        // ...but a task that was not ready, and a row that was not found, are never kept.
        Assert.Equal(("ready", """{"length":3}"""), (store.GetTask(tenant.Id, training.Id)!.State, store.GetTask(tenant.Id, training.Id)!.PromptJson));
        Assert.NotNull(store.GetTask(tenant.Id, late));
        Clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Null(store.FindTenantByKey(key));
        Assert.Null(store.GetTask(tenant.Id, ready.Id));

        // This store's own revocations and deletions take effect at once.
        string second = store.CreateKey(tenant.Id, "second");
        Assert.Equal(tenant, store.FindTenantByKey(second));
        Assert.Equal(late, store.GetTask(tenant.Id, late)!.Id);
        store.RevokeKey(StoreIds.HashKey(second)[..StoreIds.MinRevokePrefixLength]);
        Assert.True(store.DeleteTask(tenant.Id, late));
        Assert.Null(store.FindTenantByKey(second));
        Assert.Null(store.GetTask(tenant.Id, late));
        // Another tenant never reads a kept task.
        var (stranger, _) = store.CreateTenant("stranger");
        Assert.Null(store.GetTask(stranger.Id, training.Id));
    }

    [Fact]
    public void A_revoked_key_finds_no_tenant_and_a_bad_prefix_is_refused_by_name()
    {
        var (tenant, key) = Store.CreateTenant("b");
        string other = Store.CreateKey(tenant.Id, "other");
        var revoked = Store.RevokeKey(StoreIds.HashKey(key)[..StoreIds.MinRevokePrefixLength]);
        Assert.Equal("first key", revoked!.Label);
        Assert.Null(Store.FindTenantByKey(key));
        Assert.Equal(tenant, Store.FindTenantByKey(other));   // the tenant's other key still works
        Assert.Null(Store.RevokeKey(StoreIds.HashKey(key)[..StoreIds.MinRevokePrefixLength]));   // gone: nothing to revoke
        foreach (var bad in new[] { "abc", "ABCDEF0123", "0123456%", "" })
            Assert.Contains($"'{bad}'", Assert.Throws<ArgumentException>(() => Store.RevokeKey(bad)).Message);
        Assert.Contains("tenant-0000000000000000", Assert.Throws<ArgumentException>(() => Store.CreateKey("tenant-0000000000000000", "x")).Message);
    }

    [Fact]
    public void A_tenant_sees_and_uses_only_its_own_tasks_and_jobs()
    {
        var (a, _) = Store.CreateTenant("a");
        var (b, _) = Store.CreateTenant("b");
        var task = AddTask(Store, a.Id);
        var job = Store.EnqueueJob(a.Id, task.Id, "prompt", "{}");

        Assert.Equal(task, Store.GetTask(a.Id, task.Id));
        Assert.Null(Store.GetTask(b.Id, task.Id));
        Assert.Empty(Store.ListTasks(b.Id));
        Assert.False(Store.DeleteTask(b.Id, task.Id));
        Assert.Null(Store.GetJob(b.Id, job.Id));
        Assert.Null(Store.CancelJob(b.Id, job.Id));
        Assert.Empty(Store.ListJobs(b.Id));
        Assert.Contains(task.Id, Assert.Throws<TaskGoneException>(() => Store.EnqueueJob(b.Id, task.Id, "prompt", "{}")).Message);
        Assert.Equal(JobState.Queued, Store.GetJob(a.Id, job.Id)!.State);   // b's cancel did nothing
        Assert.Null(Store.GetTask(a.Id, "../" + task.Id));
        Assert.Throws<ArgumentException>(() => Store.AdapterPath("../etc"));
    }

    [Fact]
    public void Deleting_a_tenant_takes_its_keys_tasks_jobs_usage_and_adapters()
    {
        var (a, keyA) = Store.CreateTenant("a");
        var (b, keyB) = Store.CreateTenant("b");
        var task = AddTask(Store, a.Id);
        var kept = AddTask(Store, b.Id);
        Store.SaveAdapter(task.Id, WriteAdapterFolder("{}"));
        string local = Store.MaterializeAdapter(task.Id);
        Store.EnqueueJob(a.Id, task.Id, "prompt", "{}");
        Store.RecordUsage(a.Id, "base", 3, 4);

        Assert.True(Store.DeleteTenant(a.Id));
        Assert.False(Store.DeleteTenant(a.Id));
        Assert.Null(Store.FindTenantByKey(keyA));
        Assert.Null(Store.GetTask(a.Id, task.Id));
        Assert.Empty(Store.ListJobs(a.Id));
        Assert.Empty(Store.Usage(a.Id));
        Assert.False(Directory.Exists(local));
        Assert.Equal(["b"], Store.ListTenants().Select(t => t.Tenant.Name));
        Assert.Equal(kept, Store.GetTask(b.Id, kept.Id));
        Assert.Equal(b, Store.FindTenantByKey(keyB));
        Assert.Empty(ReadColumn("jobs", "id"));
    }

    [Fact]
    public void Tenants_are_listed_with_their_counts()
    {
        Store.EnsureAdmin();
        Clock.Advance(TimeSpan.FromSeconds(1));
        var (b, _) = Store.CreateTenant("b");
        Store.CreateKey(b.Id, "second");
        AddTask(Store, b.Id);
        var list = Store.ListTenants();
        Assert.Equal(["admin", "b"], list.Select(t => t.Tenant.Name));
        Assert.True(list[0].Tenant.IsAdmin);
        Assert.Equal((2, 1), (list[1].Keys, list[1].Tasks));
        Assert.Equal(Clock.GetUtcNow(), list[1].CreatedAt);
        Assert.Equal(b, Store.GetTenant(b.Id));
        Assert.Contains("name", Assert.Throws<ArgumentException>(() => Store.CreateTenant(" ")).Message);
    }

    [Fact]
    public void A_task_reads_back_as_written_and_updates()
    {
        var (a, _) = Store.CreateTenant("a");
        var first = AddTask(Store, a.Id, "first");
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = AddTask(Store, a.Id, "second");
        Assert.Equal([first, second], Store.ListTasks(a.Id));
        Assert.True(Store.UpdateTask(second.Id, "training", """{"length":8}"""));
        Assert.Equal(("training", """{"length":8}"""), (Store.GetTask(a.Id, second.Id)!.State, Store.GetTask(a.Id, second.Id)!.PromptJson));
        Assert.False(Store.UpdateTask(StoreIds.NewTaskId(), "ready", "{}"));
        Assert.True(Store.DeleteTask(a.Id, first.Id));
        Assert.Equal([second.Id], Store.ListTasks(a.Id).Select(t => t.Id));
    }

    [Fact]
    public void An_adapter_saved_from_any_folder_is_materialised_whole_and_deleted_with_its_task()
    {
        var (a, _) = Store.CreateTenant("a");
        var task = AddTask(Store, a.Id);
        string made = WriteAdapterFolder("""{"peft_type":"PROMPT_TUNING"}""");
        Store.SaveAdapter(task.Id, made);
        string local = Store.MaterializeAdapter(task.Id);
        Assert.Equal(Store.AdapterPath(task.Id), local);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], Directory.GetFiles(local).Select(Path.GetFileName).Order());
        Assert.Equal("""{"peft_type":"PROMPT_TUNING"}""", File.ReadAllText(Path.Combine(local, "adapter_config.json")));
        Assert.Equal([0, 1, 2, 255], File.ReadAllBytes(Path.Combine(local, "adapter_model.safetensors")));

        Assert.True(Store.DeleteTask(a.Id, task.Id));
        Assert.False(Directory.Exists(local));
        Assert.Throws<DirectoryNotFoundException>(() => Store.SaveAdapter(StoreIds.NewTaskId(), Path.Combine(made, "missing")));
    }

    [Fact]
    public void A_job_runs_queued_running_succeeded_for_its_claimant_only()
    {
        var (a, _) = Store.CreateTenant("a");
        var task = AddTask(Store, a.Id);
        var job = Store.EnqueueJob(a.Id, task.Id, "prompt", """{"steps":10}""");
        Assert.Equal((JobState.Queued, 0.0, 0, (string?)null), (job.State, job.Progress, job.Attempts, job.ClaimedBy));
        Assert.Equal(job, Store.GetJob(a.Id, job.Id));

        var claimed = Store.ClaimNextJob("replica-1", TimeSpan.FromMinutes(1))!;
        Assert.Equal((job.Id, JobState.Running, "replica-1", 1), (claimed.Id, claimed.State, claimed.ClaimedBy, claimed.Attempts));
        Assert.Equal(Clock.GetUtcNow(), claimed.HeartbeatAt);
        Assert.Null(Store.ClaimNextJob("replica-2", TimeSpan.FromMinutes(1)));   // running and fresh: nobody else's

        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(Store.UpdateJobProgress(job.Id, "replica-1", 0.5));
        Assert.False(Store.UpdateJobProgress(job.Id, "replica-2", 0.9));
        Assert.False(Store.Heartbeat(job.Id, "replica-2"));
        Assert.False(Store.FinishJob(job.Id, "replica-2", JobState.Failed, null, "not mine"));
        var running = Store.GetJob(a.Id, job.Id)!;
        Assert.Equal((0.5, Clock.GetUtcNow()), (running.Progress, running.HeartbeatAt));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.UpdateJobProgress(job.Id, "replica-1", 1.5));
        Assert.Throws<ArgumentException>(() => Store.FinishJob(job.Id, "replica-1", JobState.Cancelled, null, null));

        Assert.True(Store.FinishJob(job.Id, "replica-1", JobState.Succeeded, """{"loss":0.1}""", null));
        var done = Store.GetJob(a.Id, job.Id)!;
        Assert.Equal((JobState.Succeeded, 1.0, """{"loss":0.1}""", true), (done.State, done.Progress, done.ResultJson, done.IsFinished));
        Assert.False(Store.Heartbeat(job.Id, "replica-1"));
        Assert.False(Store.FinishJob(job.Id, "replica-1", JobState.Failed, null, "twice"));
        Assert.Null(Store.ClaimNextJob("replica-1", TimeSpan.Zero));
        Assert.Equal(JobState.Succeeded, Store.CancelJob(a.Id, job.Id)!.State);   // finished jobs stay as they are
    }

    [Fact]
    public void Jobs_are_claimed_oldest_first_and_a_cancelled_one_is_never_claimed()
    {
        var (a, _) = Store.CreateTenant("a");
        var task = AddTask(Store, a.Id);
        var first = Store.EnqueueJob(a.Id, task.Id, "prompt", "{}");
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = Store.EnqueueJob(a.Id, task.Id, "lora", "{}");
        Clock.Advance(TimeSpan.FromSeconds(1));
        var third = Store.EnqueueJob(a.Id, task.Id, "prefix", "{}");
        Assert.Equal([third.Id, second.Id, first.Id], Store.ListJobs(a.Id).Select(j => j.Id));

        Assert.Equal(JobState.Cancelled, Store.CancelJob(a.Id, first.Id)!.State);
        Assert.Equal(second.Id, Store.ClaimNextJob("r", TimeSpan.FromMinutes(1))!.Id);
        Assert.Equal(JobState.Cancelled, Store.CancelJob(a.Id, second.Id)!.State);   // running: its replica learns at the next heartbeat
        Assert.False(Store.Heartbeat(second.Id, "r"));
        Assert.False(Store.FinishJob(second.Id, "r", JobState.Succeeded, "{}", null));
        Assert.Equal(third.Id, Store.ClaimNextJob("r", TimeSpan.FromMinutes(1))!.Id);
        Assert.Null(Store.ClaimNextJob("r", TimeSpan.FromMinutes(1)));
        Assert.True(Store.FinishJob(third.Id, "r", JobState.Failed, null, "diverged"));
        Assert.Equal(("diverged", 0.0), (Store.GetJob(a.Id, third.Id)!.Error, Store.GetJob(a.Id, third.Id)!.Progress));
    }

    [Fact]
    public void A_job_whose_replica_stopped_heartbeating_is_reclaimed_by_another_and_fails_after_max_attempts()
    {
        var (a, _) = Store.CreateTenant("a");
        var task = AddTask(Store, a.Id);
        var job = Store.EnqueueJob(a.Id, task.Id, "prompt", "{}");
        var replica1 = Store;
        var replica2 = OpenReplica();
        var stale = TimeSpan.FromMinutes(1);

        Assert.Equal(job.Id, replica1.ClaimNextJob("replica-1", stale)!.Id);
        Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(replica2.ClaimNextJob("replica-2", stale));   // not stale yet
        Clock.Advance(TimeSpan.FromSeconds(2));
        var reclaimed = replica2.ClaimNextJob("replica-2", stale)!;   // replica-1 "died": no heartbeat for 61 s
        Assert.Equal((job.Id, "replica-2", 2, JobState.Running), (reclaimed.Id, reclaimed.ClaimedBy, reclaimed.Attempts, reclaimed.State));
        Assert.False(replica1.Heartbeat(job.Id, "replica-1"));   // the old claimant learns it lost the job
        Assert.False(replica1.FinishJob(job.Id, "replica-1", JobState.Succeeded, "{}", null));

        Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(3, replica1.ClaimNextJob("replica-1", stale, maxAttempts: 3)!.Attempts);
        Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(replica2.ClaimNextJob("replica-2", stale, maxAttempts: 3));   // the third claimant died too: failed, not claimed again
        var failed = Store.GetJob(a.Id, job.Id)!;
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("abandoned", failed.Error);
    }

    [Fact]
    public async Task Two_instances_claiming_at_once_never_get_the_same_job()
    {
        var (a, _) = Store.CreateTenant("a");
        var task = AddTask(Store, a.Id);
        const int jobs = 200, workersEach = 3;   // enough that the workers overlap even when a claim takes a fraction of a millisecond
        for (int i = 0; i < jobs; i++) Store.EnqueueJob(a.Id, task.Id, "prompt", $$"""{"i":{{i}}}""");
        var stores = new[] { Store, OpenReplica() };
        var claims = new System.Collections.Concurrent.ConcurrentBag<(string Job, string Replica)>();
        // In rounds: every worker claims once, then all wait for each other, so each round's claims race one another
        // however the threads are scheduled (free-running, one worker on a busy machine could drain the queue alone).
        using var round = new Barrier(stores.Length * workersEach);
        var workers = stores.SelectMany((s, si) => Enumerable.Range(0, workersEach).Select(w => Task.Factory.StartNew(() =>
        {
            string replica = $"replica-{si}-{w}";
            round.SignalAndWait();
            while (s.ClaimNextJob(replica, TimeSpan.FromHours(1)) is { } j)
            {
                claims.Add((j.Id, replica));
                round.SignalAndWait();
            }
            round.RemoveParticipant();   // the queue is empty: the others' rounds go on without this worker
        }, TaskCreationOptions.LongRunning))).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(jobs, claims.Count);
        Assert.Equal(jobs, claims.Select(c => c.Job).Distinct().Count());
        Assert.All(Store.ListJobs(a.Id), j => Assert.Equal((JobState.Running, 1), (j.State, j.Attempts)));
        Assert.True(claims.Select(c => c.Replica).Distinct().Count() > 1, "one worker took every job: the claims did not run side by side");
    }

    [Fact]
    public void Usage_sums_per_model_for_the_tenant_and_since_a_time()
    {
        var (a, _) = Store.CreateTenant("a");
        var (b, _) = Store.CreateTenant("b");
        Store.RecordUsage(a.Id, "base", 10, 5);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var later = Clock.GetUtcNow();
        Store.RecordUsage(a.Id, "base", 1, 2);
        Store.RecordUsage(a.Id, "task-0123456789abcdef", 7, 0);
        Store.RecordUsage(b.Id, "base", 100, 100);

        Assert.Equal([new UsageSummary("base", 2, 11, 7), new UsageSummary("task-0123456789abcdef", 1, 7, 0)], Store.Usage(a.Id));
        Assert.Equal([new UsageSummary("base", 1, 1, 2), new UsageSummary("task-0123456789abcdef", 1, 7, 0)], Store.Usage(a.Id, later));
        Assert.Equal(10, Store.Usage(a.Id, later).Sum(u => u.TotalTokens));
        Assert.Equal([new UsageSummary("base", 1, 100, 100)], Store.Usage(b.Id));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.RecordUsage(a.Id, "base", -1, 0));
    }

    [Fact]
    public void Writes_for_a_tenant_deleted_meanwhile_are_refused_by_name_and_spare_the_others()
    {
        var (a, _) = Store.CreateTenant("a");
        var (gone, _) = Store.CreateTenant("gone");
        Assert.True(Store.DeleteTenant(gone.Id));
        var record = new TaskRecord(StoreIds.NewTaskId(), gone.Id, "late", "metal", "prefix", DateTimeOffset.UtcNow, "ready", "{}");
        Assert.Contains(gone.Id, Assert.Throws<TenantGoneException>(() => Store.InsertTask(record)).Message);
        Assert.Null(Store.GetTask(gone.Id, record.Id));
        // A batch of usage with a deleted tenant's record in it keeps the others'.
        Store.RecordUsage([new UsageRecord(gone.Id, "base", 5, 5, DateTimeOffset.UtcNow), new UsageRecord(a.Id, "base", 3, 4, DateTimeOffset.UtcNow)]);
        Assert.Equal([new UsageSummary("base", 1, 3, 4)], Store.Usage(a.Id));
        Assert.Empty(Store.Usage(gone.Id));
    }
}
