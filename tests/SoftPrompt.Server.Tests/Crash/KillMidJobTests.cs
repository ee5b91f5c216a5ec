using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests.Crash;

/// <summary>
/// `softprompt serve` killed with SIGKILL while it trains a job, then started again on the same data directory: the job is
/// claimed again (its heartbeat went stale), resumes from its last checkpoint and ends with the very losses of an
/// uninterrupted run; what was stored before the kill is all there.
/// </summary>
public sealed class KillMidJobTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    // A stale heartbeat after 1 s, and a look for jobs every second, so the restarted server takes the job over at once.
    static readonly (string, string)[] Settings = [("SoftPrompt__JobHeartbeatTimeoutSeconds", "1"), ("SoftPrompt__JobPollSeconds", "1")];

    static Task<ServeProcess> Serve(string data) => ServeProcess.Start(data, TestModels.ModelDir, TestModels.PgmDir, Settings);

    static Task<JsonNode> TaskWhen(ApiClient api, string key, string id, Func<JsonNode, bool> done, string what) =>
        Poll.Until(async () => (await api.Send(Get, $"/v1/tasks/{id}", key)).Body!, done, what);

    static async Task<string> Complete(ApiClient api, string key, string model)
    {
        var (status, body) = await api.Send(Post, "/v1/completions", key, new { model, prompt = "xy", max_tokens = 6, temperature = 0 });
        Assert.True(status == 200, body?.ToJsonString());
        return (string)body!["choices"]![0]!["text"]!;
    }

    [Fact]
    public async Task A_server_killed_mid_job_resumes_the_job_after_a_restart_and_loses_nothing_stored()
    {
        string data = TestModels.NewDataDir(), key, metalId, metalText, taskId, jobId;
        await using (var first = await Serve(data))
        {
            key = first.FirstAdminKey ?? throw new InvalidOperationException($"serve printed no admin key:\n{first.Output}");
            var (status, metal) = await first.Api.Send(Post, "/v1/tasks", key, ServerApiTests.TaskBody("made before the kill"));
            Assert.True(status == 201, metal?.ToJsonString());
            metalId = (string)metal!["id"]!;
            metalText = await Complete(first.Api, key, metalId);

            var (queued, tuned) = await first.Api.Send(Post, "/v1/tasks", key, JobsTests.Body("prompt", 1000));
            Assert.True(queued == 202, tuned?.ToJsonString());
            (taskId, jobId) = ((string)tuned!["id"]!, (string)tuned["job"]!["id"]!);
            string checkpointState = Path.Combine(data, "jobs", jobId, "checkpoint", "trainer_state.json");   // written last: the checkpoint is whole
            await TaskWhen(first.Api, key, taskId, t => t["job"]?["progress"] is { } p && (double)p >= 0.3 && File.Exists(checkpointState), "30 % trained with a checkpoint");
            await first.Kill();
        }
        Assert.True(File.Exists(Path.Combine(data, "jobs", jobId, "checkpoint", "trainer_state.json")), "the kill should leave the job's checkpoint on disk");

        await using var second = await Serve(data);
        Assert.Null(second.FirstAdminKey);   // the store kept its admin: no new one is made or printed
        var trained = await TaskWhen(second.Api, key, taskId, t => (string)t["job"]!["status"]! is "succeeded" or "failed", "finished");
        Assert.True((string)trained["state"]! == "ready", trained.ToJsonString());
        var job = (await second.Api.Send(Get, $"/v1/fine_tuning/jobs/{jobId}", key)).Body!;
        Assert.Equal(("succeeded", 2), ((string)job["status"]!, (int)job["attempts"]!));   // claimed once by each process
        Assert.False(Directory.Exists(Path.Combine(data, "jobs", jobId)), "the job's training state should leave with the job");

        // Everything made before the kill is listed and answers as before.
        var listed = (await second.Api.Send(Get, "/v1/tasks", key)).Body!["data"]!.AsArray().Select(t => (string)t!["id"]!).ToHashSet();
        Assert.Superset(new HashSet<string> { metalId, taskId }, listed);
        Assert.Equal(metalText, await Complete(second.Api, key, metalId));
        await Complete(second.Api, key, taskId);

        // The same task trained without a kill: the same losses, step for step.
        var (_, other) = await second.Api.Send(Post, "/v1/tasks", key, JobsTests.Body("prompt", 1000));
        var straight = await TaskWhen(second.Api, key, (string)other!["id"]!, t => (string)t["state"]! is "ready" or "failed", "ready");
        Assert.Equal(straight["metrics"]!["curve"]!.ToJsonString(), trained["metrics"]!["curve"]!.ToJsonString());
    }
}
