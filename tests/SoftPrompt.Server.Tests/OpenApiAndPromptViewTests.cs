using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Analysis;

namespace SoftPrompt.Server.Tests;

public sealed class OpenApiAndPromptViewTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    RunningServer S => fixture.S;

    [Fact]
    public async Task The_OpenAPI_document_needs_no_key_and_lists_every_route_with_its_operation()
    {
        var response = await S.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(200, (int)response.StatusCode);
        var doc = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.StartsWith("3.", (string)doc["openapi"]!);
        Assert.Equal("SoftPrompt", (string)doc["info"]!["title"]!);
        var paths = doc["paths"]!.AsObject();
        foreach (var (path, method, id) in new[]
        {
            ("/healthz", "get", "health"), ("/readyz", "get", "readiness"), ("/v1/models", "get", "listModels"), ("/v1/tasks", "post", "createTask"),
            ("/v1/tasks", "get", "listTasks"), ("/v1/tasks/{id}", "get", "getTask"), ("/v1/tasks/{id}", "delete", "deleteTask"),
            ("/v1/completions", "post", "createCompletion"), ("/v1/adapters", "post", "uploadAdapter"),
        })
        {
            var operation = paths[path]?[method];
            Assert.True(operation is not null, $"{method.ToUpperInvariant()} {path} is not in the document: {string.Join(", ", paths.Select(p => p.Key))}");
            Assert.Equal(id, (string?)operation["operationId"]);
            Assert.False(string.IsNullOrEmpty((string?)operation["summary"]), $"{method} {path} has no summary");
            Assert.Equal(path.StartsWith("/v1/"), operation["security"] is JsonArray { Count: > 0 });
        }
        Assert.DoesNotContain(paths, p => p.Key == "/" || p.Key.StartsWith("/web"));   // the page is not part of the API
        Assert.Equal("http", (string?)doc["components"]!["securitySchemes"]!["bearer"]!["type"]);
        var upload = paths["/v1/adapters"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]!["schema"]!;
        Assert.Equal("binary", (string?)upload["properties"]!["file"]!["format"]);
    }

    [Fact]
    public async Task A_soft_prompt_task_shows_the_nearest_vocabulary_tokens_of_each_virtual_token()
    {
        var (status, task, _) = await S.Send(HttpMethod.Post, "/v1/tasks", S.AdminKey, ServerApiTests.TaskBody("nearest"));
        Assert.True(status == 201, task?.ToJsonString());
        string id = (string)task!["id"]!;
        var shown = (await S.Send(HttpMethod.Get, $"/v1/tasks/{id}", S.AdminKey)).Body!["prompt"]!["nearest_tokens"]!.AsArray();
        Assert.Equal(2, shown.Count);   // the test PGM makes M = 2 soft tokens

        // The same reading of the stored adapter, in-process (what `softprompt inspect --nearest 5` computes).
        var lm = ModelLoader.Load(TestModels.ModelDir);
        var tokenizer = Tokenizer.FromDirectory(TestModels.ModelDir);
        NearToken[][] expected;
        using (Tape.NoGrad()) expected = NearestTokens.Find(lm, AdapterDirectory.Load(S.Server.Store.AdapterPath(id), lm).Method.Compute().VirtualTokens!, 5);
        for (int i = 0; i < 2; i++)
        {
            var list = shown[i]!.AsArray();
            Assert.Equal(expected[i].Select(t => t.Id), list.Select(t => (int)t!["id"]!));
            Assert.Equal(expected[i].Select(t => tokenizer.Decode([t.Id])), list.Select(t => (string)t!["token"]!));
            var cosines = list.Select(t => (double)t!["cosine"]!).ToArray();
            Assert.Equal(cosines.OrderDescending(), cosines);
            Assert.All(cosines, c => Assert.InRange(c, -1.0, 1.0));
        }
    }
}
