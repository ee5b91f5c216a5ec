using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests;

/// <summary>README's Serving section, as written: the shipped model and PGM, the task file it posts, the completion it shows.</summary>
public sealed class ReadmeServingTests
{
    [Fact]
    public async Task The_readme_task_file_makes_a_task_that_completes_as_the_readme_says()
    {
        string metal = Path.Combine(TestModels.RepoRoot, "models", "metal");
        await using var s = await RunningServer.Start(TestModels.NewDataDir(), configure: o =>
        {
            o.ModelDir = Path.Combine(metal, "symbol-world-target");
            o.PgmDir = Path.Combine(metal, "symbol-world-pgm");
        });
        string body = File.ReadAllText(Path.Combine(TestModels.RepoRoot, "docs", "examples", "serve-task.json"));
        var (status, task, _) = await s.Send(HttpMethod.Post, "/v1/tasks", s.AdminKey, raw: body);
        Assert.True(status == 201, task?.ToJsonString());
        var (cs, completion, _) = await s.Send(HttpMethod.Post, "/v1/completions", s.AdminKey,
            new { model = (string)task!["id"]!, prompt = "hgfed", max_tokens = 6, temperature = 0 });
        Assert.True(cs == 200, completion?.ToJsonString());
        Assert.Equal(" hFgBfDeAdE", (string)completion!["choices"]![0]!["text"]!);
        Assert.Contains("\"text\":\" hFgBfDeAdE\"", File.ReadAllText(Path.Combine(TestModels.RepoRoot, "README.md")));
    }
}
