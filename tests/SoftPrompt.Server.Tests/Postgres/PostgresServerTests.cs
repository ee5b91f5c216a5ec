namespace SoftPrompt.Server.Tests.Postgres;

/// <summary>Two servers (replicas) on one PostgreSQL database, each with its own data directory, as behind a load balancer.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresCluster cluster)
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post, Delete = HttpMethod.Delete;

    [Fact]
    public async Task A_task_made_through_one_replica_completes_through_the_other_and_tenancy_holds_on_both()
    {
        string url = cluster.CreateDatabase().Url;   // postgres://…, as --db takes it
        await using var a = await RunningServer.Start(TestModels.NewDataDir(), configure: o => o.Database = url);
        string key = a.AdminKey;
        await using var b = await RunningServer.Start(TestModels.NewDataDir(), key, o => o.Database = url);
        Assert.Null(b.Server.FirstAdminKey);   // the database had the admin already
        Assert.StartsWith("PostgreSQL 127.0.0.1:", b.Server.Store.Description);

        var (status, task, _) = await a.Send(Post, "/v1/tasks", key, ServerApiTests.TaskBody("shared"));
        Assert.Equal(201, status);
        string id = (string)task!["id"]!;
        Assert.Equal("shared", (string)(await b.Send(Get, $"/v1/tasks/{id}", key)).Body!["name"]!);
        Assert.False(Directory.Exists(b.Server.Store.AdapterPath(id)));

        var request = new { model = id, prompt = "xy", max_tokens = 6, temperature = 0 };
        var (okB, viaB, _) = await b.Send(Post, "/v1/completions", key, request);
        Assert.True(okB == 200, viaB?.ToJsonString());
        Assert.True(Directory.Exists(b.Server.Store.AdapterPath(id)));   // materialised into b's own cache
        var viaA = (await a.Send(Post, "/v1/completions", key, request)).Body!;
        Assert.Equal((string)viaA["choices"]![0]!["text"]!, (string)viaB!["choices"]![0]!["text"]!);

        // A tenant made through b is known to a; it does not see the admin's task on either.
        var other = (await b.Send(Post, "/v1/admin/tenants", key, new { name = "other" })).Body!;
        string otherKey = (string)other["key"]!;
        Assert.Equal(404, (await a.Send(Get, $"/v1/tasks/{id}", otherKey)).Status);
        Assert.Equal(404, (await b.Send(Post, "/v1/completions", otherKey, request)).Status);
        string prefix = (string)(await a.Send(Get, $"/v1/admin/keys?tenant={(string)other["id"]!}", key)).Body!["data"]![0]!["hash_prefix"]!;
        Assert.Equal(200, (await a.Send(Delete, $"/v1/admin/keys/{prefix}", key)).Status);
        Assert.Equal(401, (await a.Send(Get, "/v1/models", otherKey)).Status);   // at once on the replica that revoked it
        // b read that key a moment ago and may keep it for StoreCacheSeconds (1): refused there within that, not forever.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Poll.Until(async () => (await b.Send(Get, "/v1/models", otherKey)).Status, s => s == 401, "the revoked key refused by b", seconds: 10);
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"b took {sw.Elapsed.TotalSeconds:F1} s to refuse a key revoked through a");

        Assert.Equal(200, (await b.Send(Delete, $"/v1/tasks/{id}", key)).Status);
        Assert.Equal(404, (await b.Send(Get, $"/v1/tasks/{id}", key)).Status);
        sw.Restart();
        await Poll.Until(async () => (await a.Send(Post, "/v1/completions", key, request)).Status, s => s == 404, "the deleted task gone from a", seconds: 10);
        Assert.Equal(404, (await a.Send(Get, $"/v1/tasks/{id}", key)).Status);
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"a took {sw.Elapsed.TotalSeconds:F1} s to forget a task deleted through b");
    }
}
