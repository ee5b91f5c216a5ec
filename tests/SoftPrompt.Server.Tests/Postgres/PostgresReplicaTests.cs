using Npgsql;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Postgres;

/// <summary>What several replicas on one PostgreSQL database rely on beyond the store contract: starting together, adapters across data directories, their caches.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresReplicaTests(PostgresCluster cluster) : IDisposable
{
    readonly string _database = cluster.CreateDatabase().ConnectionString;
    readonly List<IStore> _opened = [];

    PostgresStore Replica(string? dataDir = null)
    {
        var s = PostgresStore.Open(_database, dataDir ?? TestModels.NewDataDir());
        lock (_opened) _opened.Add(s);
        return s;
    }

    public void Dispose()
    {
        foreach (var s in _opened) s.Dispose();
    }

    long Count(string sql)
    {
        using var c = new NpgsqlConnection(_database);
        c.Open();
        using var q = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(q.ExecuteScalar());
    }

    [Fact]
    public async Task Replicas_starting_together_migrate_once_and_make_one_first_admin()
    {
        using var start = new Barrier(4);
        var replicas = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            var s = Replica();
            return (Store: s, AdminKey: s.EnsureAdmin());
        }, TaskCreationOptions.LongRunning)));
        Assert.All(replicas, r => Assert.Equal(2, r.Store.SchemaVersion));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_version"));
        Assert.Single(replicas, r => r.AdminKey is not null);
        Assert.Equal(1, Count("SELECT COUNT(*) FROM api_keys"));
    }

    [Fact]
    public void A_task_made_on_one_replica_is_served_by_another_from_its_own_cache()
    {
        var a = Replica();
        var b = Replica();
        Assert.NotEqual(a.DataDir, b.DataDir);
        var (tenant, key) = a.CreateTenant("t");
        Assert.Equal(tenant, b.FindTenantByKey(key));

        var task = new TaskRecord(StoreIds.NewTaskId(), tenant.Id, "shared", "metal", "hidden-state", DateTimeOffset.UnixEpoch, "ready", "{}");
        string made = a.AdapterPath(task.Id);   // made in place, as the tasks endpoint does
        Directory.CreateDirectory(made);
        File.WriteAllText(Path.Combine(made, "adapter_config.json"), "{\"r\":1}");
        File.WriteAllBytes(Path.Combine(made, "adapter_model.safetensors"), [9, 8, 7]);
        a.SaveAdapter(task.Id, made);
        a.InsertTask(task);
        Assert.Contains("written once", Assert.Throws<InvalidOperationException>(() => a.SaveAdapter(task.Id, made)).Message);

        Assert.Equal(task, b.GetTask(tenant.Id, task.Id));
        string cached = b.AdapterPath(task.Id);
        Assert.False(Directory.Exists(cached));
        Assert.Equal(cached, b.MaterializeAdapter(task.Id));
        Assert.StartsWith(b.DataDir, cached);
        Assert.Equal("{\"r\":1}", File.ReadAllText(Path.Combine(cached, "adapter_config.json")));
        Assert.Equal([9, 8, 7], File.ReadAllBytes(Path.Combine(cached, "adapter_model.safetensors")));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(cached)!, ".partial-*"));

        Assert.True(b.DeleteTask(tenant.Id, task.Id));   // through b: the rows and b's copy go; a's copy is pruned when a restarts
        Assert.False(Directory.Exists(cached));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM task_files"));
        Assert.Contains(task.Id, Assert.Throws<InvalidDataException>(() => b.MaterializeAdapter(task.Id)).Message);
    }

    [Fact]
    public void A_restarting_replica_prunes_cached_adapters_of_deleted_tasks_and_partial_folders()
    {
        var a = Replica();
        var (tenant, _) = a.CreateTenant("t");
        string dataDir = TestModels.NewDataDir();
        string adapters = Path.Combine(dataDir, SqlStore.AdaptersFolder);
        var live = new TaskRecord(StoreIds.NewTaskId(), tenant.Id, "live", "metal", "d", DateTimeOffset.UnixEpoch, "ready", "{}");
        a.InsertTask(live);
        string gone = StoreIds.NewTaskId(), fresh = StoreIds.NewTaskId();
        foreach (var name in new[] { live.Id, gone, fresh, ".partial-" + gone + "-0", "not-a-task" })
            Directory.CreateDirectory(Path.Combine(adapters, name));
        foreach (var name in new[] { live.Id, gone, ".partial-" + gone + "-0", "not-a-task" })
            Directory.SetLastWriteTimeUtc(Path.Combine(adapters, name), DateTime.UtcNow.AddHours(-2));

        Replica(dataDir);
        // Kept: the live task's copy, a copy younger than an hour (another process may be writing it), what is not the store's.
        Assert.Equal(new[] { fresh, live.Id, "not-a-task" }.Order(StringComparer.Ordinal),
            Directory.GetDirectories(adapters).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_unreachable_database_is_an_error_naming_db_without_the_password()
    {
        int closedPort;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)) { l.Start(); closedPort = ((System.Net.IPEndPoint)l.LocalEndpoint).Port; }
        var e = Assert.Throws<IOException>(() => PostgresStore.Open($"postgres://someone:s3cret@127.0.0.1:{closedPort}/nothing", TestModels.NewDataDir()));
        Assert.Contains("--db", e.Message);
        Assert.Contains($"127.0.0.1:{closedPort}/nothing", e.Message);
        Assert.DoesNotContain("s3cret", e.Message);
    }
}
