using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Server.Tests;

/// <summary>Tuning tasks: trained as jobs, resumed after a restart bit for bit, cancelled, refused when malformed.</summary>
public sealed class JobsTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    internal static object Body(string method, int steps, object? extra = null)
    {
        var o = new JsonObject
        {
            ["name"] = $"{method} task", ["method"] = method, ["steps"] = steps, ["num_virtual_tokens"] = 3, ["lora_r"] = 2, ["seed"] = 7,
            ["examples"] = new JsonArray([.. new[] { ("ab", "ba"), ("cd", "dc"), ("xy", "yx"), ("pq", "qp") }.Select(e => (JsonNode)new JsonObject { ["input"] = e.Item1, ["output"] = e.Item2 })]),
        };
        if (extra is not null) foreach (var (k, v) in JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject()) o[k] = v?.DeepClone();
        return o;
    }

    static async Task<JsonNode> WaitUntil(RunningServer s, string taskId, Func<JsonNode, bool> done, string what, int seconds = 120)
    {
        JsonNode task = null!;
        for (int i = 0; i < seconds * 10; i++)
        {
            task = (await s.Send(Get, $"/v1/tasks/{taskId}", s.AdminKey)).Body!;
            if (done(task)) return task;
            await Task.Delay(100);
        }
        throw new TimeoutException($"task {taskId} never became {what}: {task.ToJsonString()}");
    }

    [Theory]
    [InlineData("prompt")]
    [InlineData("ptuning")]
    [InlineData("prefix")]
    [InlineData("lora")]
    public async Task A_tuning_task_trains_as_a_job_and_then_completes_as_its_adapter_does_in_process(string method)
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir());
        var (status, created, response) = await s.Send(Post, "/v1/tasks", s.AdminKey, Body(method, 12));
        Assert.True(status == 202, created?.ToJsonString());
        string id = (string)created!["id"]!, jobId = (string)created["job"]!["id"]!;
        Assert.Equal("queued", (string)created["state"]!);
        Assert.Equal($"/v1/fine_tuning/jobs/{jobId}", response.Headers.Location!.OriginalString);

        // The task turns ready (its adapter stored) just before its job is marked succeeded.
        var task = await WaitUntil(s, id, t => (string)t["state"]! == "failed" || (string)t["job"]!["status"]! is "succeeded" or "failed", "finished");
        Assert.Equal("ready", (string)task["state"]!);
        Assert.Equal("succeeded", (string)task["job"]!["status"]!);
        Assert.Equal(1.0, (double)task["job"]!["progress"]!);
        var curve = task["metrics"]!["curve"]!.AsArray();
        Assert.Equal(12, curve.Count);
        Assert.Equal(12, (int)curve[^1]![0]!);
        Assert.Equal((double)curve[^1]![1]!, (double)task["metrics"]!["final_loss"]!, 5);
        var job = (await s.Send(Get, $"/v1/fine_tuning/jobs/{jobId}", s.AdminKey)).Body!;
        Assert.Equal(("fine_tuning.job", "succeeded", id), ((string)job["object"]!, (string)job["status"]!, (string)job["fine_tuned_model"]!));
        Assert.False(Directory.Exists(s.Server.Jobs.JobDirectory(jobId)), "the job's training state should leave with the job");

        var (cs, completion, _) = await s.Send(Post, "/v1/completions", s.AdminKey, new { model = id, prompt = "mn", max_tokens = 5, temperature = 0 });
        Assert.True(cs == 200, completion?.ToJsonString());
        var lm = ModelLoader.Load(TestModels.ModelDir);
        var tokenizer = Tokenizer.FromDirectory(TestModels.ModelDir);
        var (ids, plan) = AdapterPrompt.Build(AdapterDirectory.Load(s.Server.Store.MaterializeAdapter(id), lm), new TokenizerEncoder(tokenizer), "mn");
        var expected = Generator.Generate(lm, ids, new GenerationOptions(5, 0f, EosTokenId: 50256) { StopTokenIds = [50256] }, plan).ToArray();
        Assert.Equal(tokenizer.Decode(expected, skipSpecialTokens: true), (string)completion!["choices"]![0]!["text"]!);
        // the task's virtual tokens (and the template text that every request shares) ran once, into the stored start
        int cached = (int)completion["usage"]!["prompt_tokens_details"]!["cached_tokens"]!;
        if (method is "prompt" or "ptuning") Assert.True(cached >= 3, $"{method}: only {cached} positions of the prompt came from the stored start");
    }

    [Fact]
    public async Task A_job_stopped_with_its_server_resumes_after_a_restart_and_ends_as_an_uninterrupted_one()
    {
        string data = TestModels.NewDataDir(), key, id, jobId;
        await using (var first = await RunningServer.Start(data, configure: o => o.JobHeartbeatTimeoutSeconds = 1))
        {
            key = first.AdminKey;
            var created = (await first.Send(Post, "/v1/tasks", key, Body("prompt", 1000))).Body!;
            (id, jobId) = ((string)created["id"]!, (string)created["job"]!["id"]!);
            await WaitUntil(first, id, t => t["job"]?["progress"] is { } p && (double)p >= 0.3, "30 % trained");
        }   // stopped mid-job: its checkpoint stays in DATA/jobs/<id>
        Assert.True(Directory.Exists(Path.Combine(data, "jobs", jobId, "checkpoint")));
        JsonArray resumedCurve;
        await using (var second = await RunningServer.Start(data, key, o => o.JobHeartbeatTimeoutSeconds = 1))
        {
            var task = await WaitUntil(second, id, t => (string)t["job"]!["status"]! is "succeeded" or "failed", "finished");
            Assert.Equal("ready", (string)task["state"]!);
            var job = (await second.Send(Get, $"/v1/fine_tuning/jobs/{jobId}", key)).Body!;
            Assert.Equal(2, (int)job["attempts"]!);
            resumedCurve = task["metrics"]!["curve"]!.AsArray();

            // The same task trained without a stop: the same losses, step for step.
            var other = (await second.Send(Post, "/v1/tasks", key, Body("prompt", 1000))).Body!;
            var straight = await WaitUntil(second, (string)other["id"]!, t => (string)t["state"]! is "ready" or "failed", "ready");
            Assert.Equal(straight["metrics"]!["curve"]!.ToJsonString(), resumedCurve.ToJsonString());
        }
    }

    [Fact]
    public async Task A_task_in_training_answers_409_and_cancelling_its_job_stops_it()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir());
        var created = (await s.Send(Post, "/v1/tasks", s.AdminKey, Body("prompt", 5000))).Body!;
        string id = (string)created["id"]!, jobId = (string)created["job"]!["id"]!;
        var (status, body, _) = await s.Send(Post, "/v1/completions", s.AdminKey, new { model = id, prompt = "mn", max_tokens = 3 });
        Assert.Equal(409, status);
        Assert.Equal("model", (string)body!["field"]!);
        await WaitUntil(s, id, t => (string)t["state"]! == "training", "training");
        var cancelled = (await s.Send(Post, $"/v1/fine_tuning/jobs/{jobId}/cancel", s.AdminKey)).Body!;
        Assert.Equal("cancelled", (string)cancelled["status"]!);
        await WaitUntil(s, id, t => (string)t["state"]! == "cancelled" && s.Server.Jobs.Current is null, "cancelled and stopped");
        Assert.False(Directory.Exists(s.Server.Jobs.JobDirectory(jobId)));
        Assert.Equal(409, (await s.Send(Post, "/v1/completions", s.AdminKey, new { model = id, prompt = "mn", max_tokens = 3 })).Status);
        Assert.Equal(404, (await s.Send(Post, "/v1/fine_tuning/jobs/job-0000000000000000/cancel", s.AdminKey)).Status);
    }

    [Theory]
    [InlineData("full", null, "method")]
    [InlineData("nonsense", null, "method")]
    [InlineData("prompt", """{"steps": 0}""", "steps")]
    [InlineData("prompt", """{"steps": 999999}""", "steps")]
    [InlineData("prompt", """{"learning_rate": -1}""", "learning_rate")]
    [InlineData("prompt", """{"template": "{soft:3}{text} {answer}"}""", "template")]
    [InlineData("prompt", """{"template": "{soft:3}{input} =>"}""", "template")]
    [InlineData("prompt", """{"template": "{soft:5}{input} => {answer}"}""", "template")]
    [InlineData("lora", """{"lora_r": 0}""", "lora_r")]
    [InlineData("prompt", """{"examples": [{"input": "ab", "output": "ba"}, {"input": "the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog", "output": "b"}]}""", "examples[1]")]
    [InlineData("prefix", """{"examples": [{"input": "the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog", "output": "b"}]}""", "examples[0]")]
    public async Task A_malformed_tuning_request_answers_400_naming_the_field_and_stores_nothing(string method, string? extra, string field)
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir());
        var (status, body, _) = await s.Send(Post, "/v1/tasks", s.AdminKey, Body(method, 10, extra is null ? null : JsonNode.Parse(extra)));
        Assert.True(status == 400, body?.ToJsonString());
        Assert.Equal(field, (string)body!["field"]!);
        Assert.Empty((await s.Send(Get, "/v1/tasks", s.AdminKey)).Body!["data"]!.AsArray());
        Assert.Empty((await s.Send(Get, "/v1/fine_tuning/jobs", s.AdminKey)).Body!["data"]!.AsArray());
    }
}
