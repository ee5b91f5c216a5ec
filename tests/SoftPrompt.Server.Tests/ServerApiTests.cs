using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Server.Tests;

/// <summary>One server for the class (the data directory is its own); each test makes what it needs.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    internal RunningServer S { get; private set; } = null!;

    public async Task InitializeAsync() => S = await RunningServer.Start(TestModels.NewDataDir());
    public async Task DisposeAsync() => await S.DisposeAsync();
}

public sealed class ServerApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    RunningServer S => fixture.S;
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post, Delete = HttpMethod.Delete;

    internal static object TaskBody(string name = "reverse") => new
    {
        name, method = "metal",
        examples = new[] { new { input = "ab", output = "ba" }, new { input = "cd", output = "dc" }, new { input = "xy", output = "yx" } },
    };

    async Task<string> CreateTask(string key, string name = "reverse")
    {
        var (status, body, _) = await S.Send(Post, "/v1/tasks", key, TaskBody(name));
        Assert.True(status == 201, body?.ToJsonString());
        return (string)body!["id"]!;
    }

    static async Task<(string Text, JsonNode Last, int Chunks)> ReadStream(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string all = await response.Content.ReadAsStringAsync();
        var events = all.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var text = new StringBuilder();
        JsonNode? last = null;
        foreach (var e in events[..^1])
        {
            Assert.StartsWith("data: ", e);
            last = JsonNode.Parse(e["data: ".Length..])!;
            Assert.Equal("text_completion", (string)last["object"]!);
            text.Append((string)last["choices"]![0]!["text"]!);
        }
        return (text.ToString(), last!, events.Length - 1);
    }

    [Fact]
    public async Task Health_and_readiness_answer_200()
    {
        Assert.Equal("ok", (string)(await S.Send(Get, "/healthz", null)).Body!["status"]!);
        var (status, body, _) = await S.Send(Get, "/readyz", null);
        Assert.Equal(200, status);
        Assert.Equal("gpt2-random", (string)body!["model"]!);
    }

    [Fact]
    public async Task A_metal_task_is_made_listed_and_completes_as_the_adapter_does_in_process()
    {
        var (status, task, response) = await S.Send(Post, "/v1/tasks", S.AdminKey, TaskBody());
        Assert.Equal(201, status);
        string id = (string)task!["id"]!;
        Assert.Matches("^task-[0-9a-f]{16}$", id);
        Assert.Equal(("reverse", "metal", "hidden-state", "ready"), ((string)task["name"]!, (string)task["method"]!, (string)task["design"]!, (string)task["state"]!));
        Assert.Equal(2, (int)task["prompt"]!["length"]!);
        Assert.Equal(3, (int)task["prompt"]!["prompt_demonstrations"]!);
        Assert.True(Directory.Exists(S.Server.Store.AdapterPath(id)));

        var models = (await S.Send(Get, "/v1/models", S.AdminKey)).Body!;
        Assert.Equal("list", (string)models["object"]!);
        var ids = models["data"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        Assert.Equal("gpt2-random", ids[0]);
        Assert.Contains(id, ids);
        Assert.Contains(id, (await S.Send(Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray().Select(t => (string)t!["id"]!));
        Assert.Equal("reverse", (string)(await S.Send(Get, $"/v1/tasks/{id}", S.AdminKey)).Body!["name"]!);

        var (cs, completion, _) = await S.Send(Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "pq", max_tokens = 6, temperature = 0 });
        Assert.True(cs == 200, completion?.ToJsonString());
        Assert.Equal("text_completion", (string)completion!["object"]!);
        Assert.StartsWith("cmpl-", (string)completion["id"]!);
        Assert.Equal(id, (string)completion["model"]!);

        // The same adapter, in-process: same ids, same greedy tokens, same text.
        var lm = ModelLoader.Load(TestModels.ModelDir);
        var tokenizer = Tokenizer.FromDirectory(TestModels.ModelDir);
        var (promptIds, plan) = AdapterPrompt.Build(AdapterDirectory.Load(S.Server.Store.AdapterPath(id), lm), new TokenizerEncoder(tokenizer), "pq");
        var expected = Generator.Generate(lm, promptIds, new GenerationOptions(6, 0f, EosTokenId: 50256) { StopTokenIds = [50256] }, plan).ToArray();
        Assert.Equal(tokenizer.Decode(expected, skipSpecialTokens: true), (string)completion["choices"]![0]!["text"]!);
        var usage = completion["usage"]!;
        Assert.Equal(promptIds.Length, (int)usage["prompt_tokens"]!);   // 2 soft tokens + "pq =>"
        Assert.Equal(2 + tokenizer.Encode("pq =>").Length, (int)usage["prompt_tokens"]!);
        Assert.Equal(expected.Length, (int)usage["completion_tokens"]!);
        Assert.Equal(promptIds.Length + expected.Length, (int)usage["total_tokens"]!);
        Assert.Equal(expected.Length == 6 && expected[^1] != 50256 ? "length" : "stop", (string)completion["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task The_base_model_completes_and_counts_its_tokens()
    {
        var (status, body, _) = await S.Send(Post, "/v1/completions", S.AdminKey, new { model = "gpt2-random", prompt = "Hello world", max_tokens = 5, temperature = 0.7, top_p = 0.9, seed = 3 });
        Assert.True(status == 200, body?.ToJsonString());
        var tokenizer = Tokenizer.FromDirectory(TestModels.ModelDir);
        Assert.Equal(tokenizer.Encode("Hello world", addSpecialTokens: true).Length, (int)body!["usage"]!["prompt_tokens"]!);
        Assert.InRange((int)body["usage"]!["completion_tokens"]!, 1, 5);
        var again = (await S.Send(Post, "/v1/completions", S.AdminKey, new { model = "gpt2-random", prompt = "Hello world", max_tokens = 5, temperature = 0.7, top_p = 0.9, seed = 3 })).Body!;
        Assert.Equal((string)body["choices"]![0]!["text"]!, (string)again["choices"]![0]!["text"]!);
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.9)]
    public async Task Streaming_gives_the_same_text_as_one_answer_and_ends_with_DONE(bool withTask, double temperature)
    {
        string model = withTask ? await CreateTask(S.AdminKey, "stream") : "gpt2-random";
        var request = new { model, prompt = "ab", max_tokens = 8, temperature, seed = 11 };
        var whole = (await S.Send(Post, "/v1/completions", S.AdminKey, request)).Body!;
        var streamed = await S.Http.SendAsync(S.Request(Post, "/v1/completions", S.AdminKey, new { model, prompt = "ab", max_tokens = 8, temperature, seed = 11, stream = true }),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)streamed.StatusCode);
        var (text, last, chunks) = await ReadStream(streamed);
        Assert.Equal((string)whole["choices"]![0]!["text"]!, text);
        Assert.Equal((string)whole["choices"]![0]!["finish_reason"]!, (string)last["choices"]![0]!["finish_reason"]!);
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, (int)last["usage"]!["completion_tokens"]!);
        Assert.True(chunks >= 2);
    }

    [Fact]
    public async Task A_stop_string_cuts_the_text_before_it_in_both_modes()
    {
        var free = (await S.Send(Post, "/v1/completions", S.AdminKey, new { model = "gpt2-random", prompt = "The", max_tokens = 12, temperature = 0 })).Body!;
        string text = (string)free["choices"]![0]!["text"]!;
        Assert.True(text.Length >= 6, $"the random model wrote only '{text}'");
        string stop = text.Substring(3, 2);
        string expected = text[..text.IndexOf(stop, StringComparison.Ordinal)];
        var cut = (await S.Send(Post, "/v1/completions", S.AdminKey, new { model = "gpt2-random", prompt = "The", max_tokens = 12, temperature = 0, stop })).Body!;
        Assert.Equal(expected, (string)cut["choices"]![0]!["text"]!);
        Assert.Equal("stop", (string)cut["choices"]![0]!["finish_reason"]!);
        var streamed = await S.Http.SendAsync(S.Request(Post, "/v1/completions", S.AdminKey, new { model = "gpt2-random", prompt = "The", max_tokens = 12, temperature = 0, stop = new[] { "zzzz", stop }, stream = true }));
        Assert.Equal(expected, (await ReadStream(streamed)).Text);
    }

    [Fact]
    public async Task A_tenant_sees_and_uses_only_its_own_tasks()
    {
        string id = await CreateTask(S.AdminKey, "mine");
        var (_, keyB) = S.Server.Store.CreateTenant("tenant b");
        Assert.Equal(404, (await S.Send(Get, $"/v1/tasks/{id}", keyB)).Status);
        Assert.Equal(404, (await S.Send(Delete, $"/v1/tasks/{id}", keyB)).Status);
        var (status, body, _) = await S.Send(Post, "/v1/completions", keyB, new { model = id, prompt = "ab" });
        Assert.Equal(404, status);
        Assert.Equal("model", (string)body!["field"]!);
        Assert.Empty((await S.Send(Get, "/v1/tasks", keyB)).Body!["data"]!.AsArray());
        Assert.Single((await S.Send(Get, "/v1/models", keyB)).Body!["data"]!.AsArray());
        string idB = await CreateTask(keyB, "theirs");
        Assert.DoesNotContain(idB, (await S.Send(Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray().Select(t => (string)t!["id"]!));
        Assert.Equal(200, (await S.Send(Get, $"/v1/tasks/{id}", S.AdminKey)).Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("sp-0000")]
    [InlineData("")]
    public async Task A_missing_or_wrong_key_answers_401(string? key)
    {
        foreach (var (method, path) in new[] { (Get, "/v1/models"), (Get, "/v1/tasks"), (Post, "/v1/completions"), (Post, "/v1/tasks"), (Get, "/v1/tasks/task-0123456789abcdef") })
        {
            var request = new HttpRequestMessage(method, path);
            if (key is not null) request.Headers.TryAddWithoutValidation("Authorization", key.Length == 0 ? "Basic abc" : $"Bearer {key}");
            var response = await S.Http.SendAsync(request);
            Assert.Equal(401, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    public static TheoryData<string, string, int, string?> BadRequests => new()
    {
        { "/v1/tasks", "{not json", 400, null },
        { "/v1/tasks", "[1,2]", 400, null },
        { "/v1/tasks", "", 400, null },
        { "/v1/tasks", """{"examples":[{"input":"a","output":"b"}]}""", 400, "name" },
        { "/v1/tasks", """{"name":"","examples":[{"input":"a","output":"b"}]}""", 400, "name" },
        { "/v1/tasks", """{"name":7,"examples":[{"input":"a","output":"b"}]}""", 400, "name" },
        { "/v1/tasks", """{"name":"t"}""", 400, "examples" },
        { "/v1/tasks", """{"name":"t","examples":[]}""", 400, "examples" },
        { "/v1/tasks", """{"name":"t","examples":{"input":"a"}}""", 400, "examples" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"a","output":"b"},{"input":"c","output":"d"},{"input":"e","output":"f"},{"input":"g"}]}""", 400, "examples[3].output" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"a","output":""}]}""", 400, "examples[0].output" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":1,"output":"b"}]}""", 400, "examples[0].input" },
        { "/v1/tasks", """{"name":"t","examples":["ab"]}""", 400, "examples[0]" },
        { "/v1/tasks", """{"name":"t","method":"full","examples":[{"input":"a","output":"b"}]}""", 400, "method" },
        { "/v1/tasks", """{"name":"t","method":"metal","design":"discrete","examples":[{"input":"a","output":"b"}]}""", 400, "design" },
        { "/v1/tasks", """{"name":"t","method":"magic","examples":[{"input":"a","output":"b"}]}""", 400, "method" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"a","output":"b"}],"text_demonstrations":1}""", 400, "text_demonstrations" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"a","output":"b"}],"text_demonstrations":"x"}""", 400, "text_demonstrations" },
        { "/v1/tasks", "{\"name\":\"t\",\"examples\":[{\"input\":\"" + string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog ", 12)) + "\",\"output\":\"b\"}]}", 400, "examples" },
        { "/v1/completions", "{", 400, null },
        { "/v1/completions", """{"prompt":"a"}""", 400, "model" },
        { "/v1/completions", """{"model":"gpt2-random"}""", 400, "prompt" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":["a","b"]}""", 400, "prompt" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":""}""", 400, "prompt" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","max_tokens":100000}""", 400, "max_tokens" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","max_tokens":0}""", 400, "max_tokens" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","max_tokens":"ten"}""", 400, "max_tokens" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","max_tokens":1.5}""", 400, "max_tokens" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","max_tokens":100}""", 400, "max_tokens" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","temperature":-1}""", 400, "temperature" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","temperature":"hot"}""", 400, "temperature" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","top_p":0}""", 400, "top_p" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","stop":5}""", 400, "stop" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","stop":["x",""]}""", 400, "stop[1]" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","seed":-2}""", 400, "seed" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","stream":"yes"}""", 400, "stream" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","n":3}""", 400, "n" },
        { "/v1/completions", """{"model":"no-such-model","prompt":"a"}""", 404, "model" },
        { "/v1/completions", """{"model":"task-0123456789abcdef","prompt":"a"}""", 404, "model" },
        { "/v1/completions", """{"model":"../../etc/passwd","prompt":"a"}""", 404, "model" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_answer_4xx_problem_details_naming_the_field(string path, string raw, int expected, string? field)
    {
        var response = await S.Http.SendAsync(S.Request(Post, path, S.AdminKey, raw: raw));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expected, text);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal(expected, (int)problem["status"]!);
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
        if (field is not null) Assert.Equal(field, (string?)problem["field"]);
    }

    [Fact]
    public async Task Oversized_bodies_and_unknown_routes_answer_4xx_problem_details()
    {
        string huge = "{\"name\":\"t\",\"examples\":[{\"input\":\"a\",\"output\":\"b\"}],\"pad\":\"" + new string('x', 2 << 20) + "\"}";
        // Expect: 100-continue, so that the client sends the body only if asked: without it, the server's early 413 can meet a
        // body still being written and the client may see the connection reset instead of the answer (seen once in ~20 runs).
        var request = S.Request(Post, "/v1/tasks", S.AdminKey, raw: huge);
        request.Headers.ExpectContinue = true;
        var response = await S.Http.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        foreach (var (method, path) in new[] { (Get, "/v1/tasks/..%2F..%2Fsoftprompt.db"), (Get, "/v1/tasks/task-zz"), (Get, "/v1/nothing"), (Get, "/nothing"), (Delete, "/v1/models") })
        {
            var r = await S.Http.SendAsync(S.Request(method, path, S.AdminKey));
            Assert.InRange((int)r.StatusCode, 400, 499);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Deleting_a_task_removes_its_row_and_adapter_then_it_is_404()
    {
        string id = await CreateTask(S.AdminKey, "short-lived");
        Assert.Equal(200, (await S.Send(Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "ab", max_tokens = 2 })).Status);
        var (status, body, _) = await S.Send(Delete, $"/v1/tasks/{id}", S.AdminKey);
        Assert.Equal(200, status);
        Assert.True((bool)body!["deleted"]!);
        Assert.False(Directory.Exists(S.Server.Store.AdapterPath(id)));
        Assert.Equal(404, (await S.Send(Get, $"/v1/tasks/{id}", S.AdminKey)).Status);
        Assert.Equal(404, (await S.Send(Delete, $"/v1/tasks/{id}", S.AdminKey)).Status);
        Assert.Equal(404, (await S.Send(Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "ab" })).Status);
    }
}
