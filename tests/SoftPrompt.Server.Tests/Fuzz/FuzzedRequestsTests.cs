using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests.Fuzz;

/// <summary>
/// Thousands of mutated, malformed, unauthenticated and oversized requests (<see cref="RequestFuzzer"/>, a fixed seed, one
/// after another) against one server: none is answered 5xx, every well-formed one is answered, and the server is
/// healthy and serves at the end. The one 5xx allowed is Kestrel's own 505 to a request line of another HTTP version
/// ("GET / HTTP/9.9"), the answer RFC 9110 prescribes, given before any of the server's code runs.
/// </summary>
public sealed class FuzzedRequestsTests
{
    const int Seed = 20260528, Requests = 2000, Clients = 4;
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    [Fact]
    public async Task Fuzzed_requests_are_answered_below_500_and_the_server_stays_healthy()
    {
        // Tuning bodies may train, but at most 3 steps (the fuzzer's valid ones ask 2), so the runner keeps up.
        await using var s = await RunningServer.Start(TestModels.NewDataDir(), configure: o => o.MaxTrainingSteps = 3);
        var (created, task, _) = await s.Send(Post, "/v1/tasks", s.AdminKey, ServerApiTests.TaskBody("fuzz target"));
        Assert.True(created == 201, task?.ToJsonString());
        var (queued, job, _) = await s.Send(Post, "/v1/tasks", s.AdminKey, JobsTests.Body("prompt", 2));
        Assert.True(queued == 202, job?.ToJsonString());
        // A tenant whose key the fuzzer sends (a non-admin: 403 on /v1/admin), and another whose id it sends (which it may delete).
        var (_, otherKey) = s.Server.Store.CreateTenant("other");
        var (victim, _) = s.Server.Store.CreateTenant("victim");
        var targets = new FuzzTargets(s.AdminKey, otherKey, victim.Id, (string)task!["id"]!, (string)job!["job"]!["id"]!, "gpt2-random",
            AdapterUploadTests.Zip(AdapterUploadTests.AdapterFiles()));

        // The requests are made first (the seed alone decides them), then sent by a few clients at once, as a server meets them.
        var fuzzer = new RequestFuzzer(Seed, targets);
        var cases = Enumerable.Range(0, Requests).Select(fuzzer.Next).ToList();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        int unanswered = 0;
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (c, _) =>
        {
            try
            {
                var (status, head) = await RawHttp.Send(s.Http.BaseAddress!, c.Bytes, c.CloseAfterSending, TimeSpan.FromSeconds(60));
                if (status is int code) statuses.AddOrUpdate(code, 1, (_, n) => n + 1);
                else if (c.WellFormed) failures.Add($"no answer to {c}");
                else Interlocked.Increment(ref unanswered);
                if (status >= 500 && !(status == 505 && c.Kind == "bad request line")) failures.Add($"{status} for {c}\n  answer: {head.ReplaceLineEndings(" ")}");
            }
            catch (OperationCanceledException) { failures.Add($"no answer within 60 s to {c}"); }
        });
        string summary = $"statuses {string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"))}; {unanswered} malformed requests closed without an answer";
        Assert.True(failures.Count == 0, $"{failures.Count} failures ({summary}):\n{string.Join("\n", failures.Order().Take(15))}");

        // The fuzzing reached the endpoints, not only the JSON parser and the key check: it made things and was refused for many reasons.
        Assert.True(statuses.Where(kv => kv.Key is >= 200 and < 300).Sum(kv => kv.Value) >= Requests / 20, summary);
        Assert.True(new[] { 400, 401, 403, 404, 405, 413, 414, 415, 431 }.All(statuses.ContainsKey), summary);

        Assert.Equal(200, (await s.Send(Get, "/healthz", null)).Status);
        var (ok, completion, _) = await s.Send(Post, "/v1/completions", s.AdminKey, new { model = "gpt2-random", prompt = "still here", max_tokens = 3, temperature = 0 });
        Assert.True(ok == 200, completion?.ToJsonString());
        Assert.Equal(0, s.Server.Scheduler.ActiveRows);
    }
}
