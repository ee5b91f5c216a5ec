using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests;

public sealed class RestartAndStoreTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    [Fact]
    public async Task After_a_restart_on_the_same_data_dir_the_task_is_there_and_completes_the_same()
    {
        string data = TestModels.NewDataDir();
        string key, id, text;
        await using (var first = await RunningServer.Start(data))
        {
            key = first.AdminKey;
            var (status, task, _) = await first.Send(Post, "/v1/tasks", key, ServerApiTests.TaskBody("kept"));
            Assert.Equal(201, status);
            id = (string)task!["id"]!;
            text = (string)(await first.Send(Post, "/v1/completions", key, new { model = id, prompt = "xy", max_tokens = 6, temperature = 0 })).Body!["choices"]![0]!["text"]!;
        }
        await using var second = await RunningServer.Start(data, key);
        Assert.Null(second.Server.FirstAdminKey);   // the store already had a key: none is made or shown again
        Assert.Equal("kept", (string)(await second.Send(Get, $"/v1/tasks/{id}", key)).Body!["name"]!);
        Assert.Contains(id, (await second.Send(Get, "/v1/models", key)).Body!["data"]!.AsArray().Select(m => (string)m!["id"]!));
        var again = (await second.Send(Post, "/v1/completions", key, new { model = id, prompt = "xy", max_tokens = 6, temperature = 0 })).Body!;
        Assert.Equal(text, (string)again["choices"]![0]!["text"]!);
    }

    [Fact]
    public void The_store_migrates_once_runs_in_WAL_and_keeps_only_key_hashes()
    {
        string data = TestModels.NewDataDir();
        var store = SqliteStore.Open(data);
        Assert.Equal(2, store.SchemaVersion);
        string admin = store.EnsureAdmin()!;
        Assert.Null(store.EnsureAdmin());
        var (tenant, key) = store.CreateTenant("b");
        Assert.Equal(tenant, store.FindTenantByKey(key));
        Assert.True(store.FindTenantByKey(admin)!.IsAdmin);
        Assert.Null(store.FindTenantByKey(key + "0"));
        string extra = store.CreateKey(tenant.Id, "second");
        Assert.Equal(tenant.Id, store.FindTenantByKey(extra)!.Id);

        var reopened = SqliteStore.Open(data);   // migrations already applied: nothing runs twice
        Assert.Equal(2, reopened.SchemaVersion);
        using var c = new SqliteConnection($"Data Source={Path.Combine(data, SqliteStore.FileName)};Pooling=False");
        c.Open();
        using (var q = c.CreateCommand()) { q.CommandText = "PRAGMA journal_mode"; Assert.Equal("wal", (string)q.ExecuteScalar()!); }
        using (var q = c.CreateCommand())
        {
            q.CommandText = "SELECT key_hash FROM api_keys";
            using var r = q.ExecuteReader();
            var hashes = new List<string>();
            while (r.Read()) hashes.Add(r.GetString(0));
            Assert.Equal(3, hashes.Count);
            Assert.Contains(StoreIds.HashKey(key), hashes);
        }
        c.Close();
        foreach (var file in Directory.GetFiles(data, SqliteStore.FileName + "*"))
        {
            string bytes = Encoding.Latin1.GetString(File.ReadAllBytes(file));
            Assert.DoesNotContain(key, bytes);
            Assert.DoesNotContain(admin, bytes);
        }
    }

    [Theory]
    [InlineData("task-0123456789abcdef", true)]
    [InlineData("task-0123456789ABCDEF", false)]
    [InlineData("task-../../etc/passwd", false)]
    [InlineData("task-0123456789abcde", false)]
    [InlineData("gpt2", false)]
    public void Only_server_made_task_ids_become_paths(string id, bool valid)
    {
        Assert.Equal(valid, StoreIds.IsTaskId(id));
        Assert.Matches("^task-[0-9a-f]{16}$", StoreIds.NewTaskId());
    }
}
