namespace SoftPrompt.Server.Tests;

/// <summary>
/// A tenant's jobs and trained tasks are its own: another tenant can neither see, cancel nor use them — every such
/// request answers 404, as for an id that does not exist — and its own listings stay empty. (Tasks made by the PGM:
/// <see cref="ServerApiTests.A_tenant_sees_and_uses_only_its_own_tasks"/>.)
/// </summary>
public sealed class TenantIsolationTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post, Delete = HttpMethod.Delete;

    [Fact]
    public async Task Another_tenant_can_neither_see_cancel_nor_use_a_tenants_jobs_and_trained_tasks()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir());
        string owner = s.AdminKey;
        var (_, intruder) = s.Server.Store.CreateTenant("intruder");

        var trained = (await s.Send(Post, "/v1/tasks", owner, JobsTests.Body("prompt", 6))).Body!;
        var training = (await s.Send(Post, "/v1/tasks", owner, JobsTests.Body("prompt", 5000, new { name = "long" }))).Body!;
        string trainedTask = (string)trained["id"]!, trainedJob = (string)trained["job"]!["id"]!;
        string trainingTask = (string)training["id"]!, trainingJob = (string)training["job"]!["id"]!;
        await Poll.Until(async () => (await s.Send(Get, $"/v1/tasks/{trainedTask}", owner)).Body!, t => (string)t["state"]! is "ready" or "failed", "trained");

        foreach (string jobId in new[] { trainedJob, trainingJob })
        {
            Assert.Equal(404, (await s.Send(Get, $"/v1/fine_tuning/jobs/{jobId}", intruder)).Status);
            Assert.Equal(404, (await s.Send(Post, $"/v1/fine_tuning/jobs/{jobId}/cancel", intruder)).Status);
        }
        foreach (string task in new[] { trainedTask, trainingTask })
        {
            Assert.Equal(404, (await s.Send(Get, $"/v1/tasks/{task}", intruder)).Status);
            Assert.Equal(404, (await s.Send(Post, "/v1/completions", intruder, new { model = task, prompt = "ab", max_tokens = 2 })).Status);
            Assert.Equal(404, (await s.Send(Delete, $"/v1/tasks/{task}", intruder)).Status);
        }
        Assert.Empty((await s.Send(Get, "/v1/fine_tuning/jobs", intruder)).Body!["data"]!.AsArray());
        Assert.Empty((await s.Send(Get, "/v1/tasks", intruder)).Body!["data"]!.AsArray());
        Assert.Single((await s.Send(Get, "/v1/models", intruder)).Body!["data"]!.AsArray());   // the base model only
        Assert.Equal(403, (await s.Send(Get, "/v1/admin/tenants", intruder)).Status);

        // Nothing the intruder did touched them: the owner's training goes on, its trained task answers.
        var job = (await s.Send(Get, $"/v1/fine_tuning/jobs/{trainingJob}", owner)).Body!;
        Assert.True((string)job["status"]! is "queued" or "running", job.ToJsonString());
        Assert.Equal(200, (await s.Send(Post, "/v1/completions", owner, new { model = trainedTask, prompt = "ab", max_tokens = 2 })).Status);
        Assert.Equal(2, (await s.Send(Get, "/v1/fine_tuning/jobs", owner)).Body!["data"]!.AsArray().Count);
        Assert.Equal("cancelled", (string)(await s.Send(Post, $"/v1/fine_tuning/jobs/{trainingJob}/cancel", owner)).Body!["status"]!);
    }
}
