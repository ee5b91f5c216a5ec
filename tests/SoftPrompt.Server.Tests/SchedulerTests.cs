using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SoftPrompt.Server.Tests;

/// <summary>
/// The scheduler through the API: requests of different tasks decode together and each answers as it does alone; the
/// task's stored prompt start is reused; a full queue answers 429, a deadline 503; a client that leaves a stream leaves
/// the batch; /metrics counts it all. Where timing would decide, the test holds the scheduler's thread with work of its
/// own (<see cref="Hosting.Scheduler.RunAsync"/>), so requests queue while it waits.
/// </summary>
public sealed class SchedulerTests
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    /// <summary>Holds the scheduler's thread until the returned gate is set.</summary>
    static (ManualResetEventSlim Gate, Task Held) Hold(RunningServer s)
    {
        var gate = new ManualResetEventSlim();
        var entered = new ManualResetEventSlim();
        var held = s.Server.Scheduler.RunAsync(_ => { entered.Set(); gate.Wait(TimeSpan.FromSeconds(60)); return 0; }, CancellationToken.None);
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)), "the scheduler did not take the holding work");
        return (gate, held);
    }

    static async Task WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 600 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    static async Task<string> Metrics(RunningServer s)
    {
        var response = await s.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    static double Sample(string metrics, string series)
    {
        var m = Regex.Match(metrics, "^" + Regex.Escape(series) + " ([0-9.eE+-]+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"{series} is not in /metrics:\n{metrics}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    static object Completion(string model, string prompt, int maxTokens = 20) => new { model, prompt, max_tokens = maxTokens, temperature = 0 };

    [Fact]
    public async Task Requests_of_different_tasks_decode_together_and_each_answers_as_alone()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir());
        var withDemos = (await s.Send(Post, "/v1/tasks", s.AdminKey, new
        {
            name = "with demonstrations", method = "metal", text_demonstrations = 2,
            examples = new[] { new { input = "ab", output = "ba" }, new { input = "cd", output = "dc" }, new { input = "xy", output = "yx" }, new { input = "mn", output = "nm" } },
        })).Body!;
        Assert.Equal(2, (int)withDemos["prompt"]!["text_demonstrations"]!);
        string a = (string)withDemos["id"]!;
        string b = (string)(await s.Send(Post, "/v1/tasks", s.AdminKey, ServerApiTests.TaskBody("plain"))).Body!["id"]!;
        object[] requests =
        [
            Completion(a, "pq"), Completion(a, "hello there", 12), Completion(b, "pq"), Completion(b, "zz top", 7),
            Completion("gpt2-random", "Hello world"), Completion("gpt2-random", "One two three four", 9),
        ];

        // Each alone, one after another.
        var alone = new List<string>();
        foreach (var r in requests)
        {
            var (status, body, _) = await s.Send(Post, "/v1/completions", s.AdminKey, r);
            Assert.True(status == 200, body?.ToJsonString());
            alone.Add(body!.ToJsonString());
        }

        // All together: queued while the scheduler is held, then admitted into one batch.
        var before = await Metrics(s);
        var (gate, held) = Hold(s);
        var together = requests.Select(r => s.Send(Post, "/v1/completions", s.AdminKey, r)).ToList();
        await WaitFor(() => s.Server.Scheduler.QueueDepth == requests.Length, "every request to queue");
        gate.Set();
        await held;
        var answers = await Task.WhenAll(together);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(200, answers[i].Status);
            var expected = JsonNode.Parse(alone[i])!;
            Assert.Equal((string)expected["choices"]![0]!["text"]!, (string)answers[i].Body!["choices"]![0]!["text"]!);
            Assert.Equal(expected["usage"]!.ToJsonString(), answers[i].Body!["usage"]!.ToJsonString());
        }

        // The task with demonstrations kept them as a computed start: its requests' prompts were mostly cached.
        var usage = JsonNode.Parse(alone[0])!["usage"]!;
        Assert.True((int)usage["prompt_tokens_details"]!["cached_tokens"]! > 2, usage.ToJsonString());
        Assert.True((int)usage["prompt_tokens_details"]!["cached_tokens"]! < (int)usage["prompt_tokens"]!);

        var after = await Metrics(s);
        double steps = Sample(after, "softprompt_decode_batch_rows_count") - Sample(before, "softprompt_decode_batch_rows_count");
        double rows = Sample(after, "softprompt_decode_batch_rows_sum") - Sample(before, "softprompt_decode_batch_rows_sum");
        Assert.True(rows / steps > 2, $"the concurrent requests should have shared steps: {rows} rows in {steps} steps");
        Assert.True(Sample(after, "softprompt_prompt_cache_hits_total") >= 6);
        Assert.Equal(2, Sample(after, "softprompt_prompt_cache_entries"));
        Assert.True(Sample(after, "softprompt_prompt_cache_bytes") > 0);
        Assert.Equal(0, Sample(after, "softprompt_queue_depth"));
        Assert.True(Sample(after, "softprompt_http_requests_total{route=\"/v1/completions\",method=\"POST\",status=\"200\"}") >= 2 * requests.Length);
        Assert.True(Sample(after, "softprompt_generated_tokens_total") > 0);

        // Usage is written in batches: every completion shows, by model, within a few seconds.
        JsonNode recorded = null!;
        for (int i = 0; i < 100; i++)
        {
            recorded = (await s.Send(Get, "/v1/usage", s.AdminKey)).Body!;
            if (recorded["data"]!.AsArray().Sum(u => (long)u!["requests"]!) == 2 * requests.Length) break;
            await Task.Delay(100);
        }
        var byModel = recorded["data"]!.AsArray().ToDictionary(u => (string)u!["model"]!);
        Assert.Equal(4, (long)byModel[a]!["requests"]!);
        Assert.Equal(4, (long)byModel["gpt2-random"]!["requests"]!);
        long completionTokens = answers.Sum(x => (long)x.Body!["usage"]!["completion_tokens"]!);
        Assert.Equal(2 * completionTokens, byModel.Values.Sum(u => (long)u!["completion_tokens"]!));
        Assert.Equal(400, (await s.Send(Get, "/v1/usage?since=yesterday", s.AdminKey)).Status);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After_and_the_queued_request_still_completes()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir(), configure: o => o.MaxQueuedRequests = 2);
        var (gate, held) = Hold(s);
        var queued = new[] { s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "one")), s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "two")) };
        await WaitFor(() => s.Server.Scheduler.QueueDepth == 2, "two requests to queue");
        var (status, body, response) = await s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "three"));
        Assert.Equal(429, status);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("queue is full", (string)body!["detail"]!);
        gate.Set();
        await held;
        foreach (var q in queued) Assert.Equal(200, (await q).Status);
        Assert.Equal(200, (await s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "four"))).Status);
        Assert.Equal(1, Sample(await Metrics(s), "softprompt_requests_rejected_total"));
    }

    [Fact]
    public async Task A_request_past_its_deadline_answers_503_and_the_server_goes_on()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir(), configure: o => o.RequestTimeoutSeconds = 1);
        var (gate, held) = Hold(s);
        var (status, body, response) = await s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "late"));
        Assert.Equal(503, status);
        Assert.Contains("did not finish within", (string)body!["detail"]!);
        Assert.True(response.Headers.Contains("Retry-After"));
        gate.Set();
        await held;
        Assert.Equal(200, (await s.Send(Post, "/v1/completions", s.AdminKey, Completion("gpt2-random", "on time"))).Status);
    }

    [Fact]
    public async Task A_client_that_leaves_a_stream_leaves_the_batch()
    {
        await using var s = await RunningServer.Start(TestModels.NewDataDir(), configure: o => { o.ModelDir = TestModels.LongModelDir; o.PgmDir = null; });
        using var request = s.Request(Post, "/v1/completions", s.AdminKey, new { model = "gpt2-random-long", prompt = "Once", max_tokens = 1000, temperature = 1, seed = 1, stream = true });
        var response = await s.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var first = new byte[16];
        Assert.True(await stream.ReadAsync(first) > 0);
        response.Dispose();   // the client goes away mid-stream
        await WaitFor(() => s.Server.Scheduler.ActiveRows == 0 && s.Server.Scheduler.QueueDepth == 0, "the request to leave the batch");
        var metrics = await Metrics(s);
        Assert.Equal(1, Sample(metrics, "softprompt_requests_cancelled_total"));
        Assert.True(Sample(metrics, "softprompt_generated_tokens_total") < 1000, "the generation should have stopped early");
        Assert.Equal(200, (await s.Send(Post, "/v1/completions", s.AdminKey, new { model = "gpt2-random-long", prompt = "Again", max_tokens = 3 })).Status);
    }
}
