using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Crash;

/// <summary>
/// `softprompt serve` killed with SIGKILL in the middle of a streamed completion, with writes to the store in flight: the
/// SQLite file is intact, every write the server acknowledged is there after a restart, and the restarted server serves.
/// </summary>
public sealed class KillMidRequestTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    // The long model: a thousand tokens take long enough that the stream is surely still running when the kill comes.
    static Task<ServeProcess> Serve(string data) => ServeProcess.Start(data, TestModels.LongModelDir, TestModels.PgmDir);

    [Fact]
    public async Task A_server_killed_mid_stream_and_mid_write_restarts_with_an_intact_store_and_every_acknowledged_write()
    {
        string data = TestModels.NewDataDir(), key, taskId, otherKey, text;
        var acknowledged = new ConcurrentBag<string>();   // tenants whose creation answered 201 before the kill
        await using (var first = await Serve(data))
        {
            key = first.FirstAdminKey ?? throw new InvalidOperationException($"serve printed no admin key:\n{first.Output}");
            var (status, task) = await first.Api.Send(Post, "/v1/tasks", key, ServerApiTests.TaskBody("made before the kill"));
            Assert.True(status == 201, task?.ToJsonString());
            taskId = (string)task!["id"]!;
            var completion = new { model = taskId, prompt = "xy", max_tokens = 6, temperature = 0 };
            text = (string)(await first.Api.Send(Post, "/v1/completions", key, completion)).Body!["choices"]![0]!["text"]!;
            otherKey = (string)(await first.Api.Send(Post, "/v1/admin/tenants", key, new { name = "other" })).Body!["key"]!;

            // Writes in flight: tenants made one after another until the server dies under them.
            using var stopWriting = new CancellationTokenSource();
            var writer = System.Threading.Tasks.Task.Run(async () =>
            {
                using var api = new ApiClient(first.Api.Http.BaseAddress!);
                for (int i = 0; !stopWriting.IsCancellationRequested; i++)
                {
                    try
                    {
                        var (s, body) = await api.Send(Post, "/v1/admin/tenants", key, new { name = $"written-{i}" });
                        if (s == 201) acknowledged.Add((string)body!["id"]!);
                    }
                    catch (HttpRequestException) { return; }   // the server is gone
                }
            });
            await Poll.Until(() => System.Threading.Tasks.Task.FromResult(acknowledged.Count), n => n >= 3, "writing");

            using var request = first.Api.Request(Post, "/v1/completions", key, new { model = "gpt2-random-long", prompt = "Once", max_tokens = 1000, temperature = 1, seed = 1, stream = true });
            using var response = await first.Api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(200, (int)response.StatusCode);
            using var stream = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? firstChunk = await stream.ReadLineAsync();
            Assert.StartsWith("data: {", firstChunk);
            await first.Kill();
            await Assert.ThrowsAnyAsync<Exception>(async () => await stream.ReadToEndAsync());   // cut mid-stream: no [DONE], an error
            stopWriting.Cancel();
            await writer;
        }

        // The store as the kill left it (a WAL beside it, not checkpointed): SQLite finds it whole.
        using (var c = new SqliteConnection($"Data Source={Path.Combine(data, SqliteStore.FileName)};Pooling=False"))
        {
            c.Open();
            using var q = c.CreateCommand();
            q.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string)q.ExecuteScalar()!);
        }

        await using var second = await Serve(data);
        Assert.Null(second.FirstAdminKey);
        var tenants = (await second.Api.Send(Get, "/v1/admin/tenants", key)).Body!["data"]!.AsArray().Select(t => (string)t!["id"]!).ToHashSet();
        Assert.Superset(acknowledged.ToHashSet(), tenants);
        Assert.Equal(200, (await second.Api.Send(Get, "/v1/models", otherKey)).Status);
        Assert.Equal(taskId, (string)(await second.Api.Send(Get, $"/v1/tasks/{taskId}", key)).Body!["id"]!);
        var again = (await second.Api.Send(Post, "/v1/completions", key, new { model = taskId, prompt = "xy", max_tokens = 6, temperature = 0 })).Body!;
        Assert.Equal(text, (string)again["choices"]![0]!["text"]!);
        var (status2, streamed) = await second.Api.Send(Post, "/v1/completions", key, new { model = "gpt2-random-long", prompt = "Once", max_tokens = 5 });
        Assert.True(status2 == 200, streamed?.ToJsonString());
    }
}
