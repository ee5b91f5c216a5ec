using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Server.Tests;

/// <summary>
/// The test world: a small random GPT-2 with GPT-2's real tokenizer (the CLI tests' Gpt2Random) and a random
/// hidden-state PGM for it (M = 2), made once per process.
/// </summary>
internal static class TestModels
{
    static readonly string Root = Path.Combine(Path.GetTempPath(), $"softprompt-server-tests-{Environment.ProcessId}");

    public static readonly string RepoRoot = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SoftPrompt.sln"))) return d.FullName;
        throw new InvalidOperationException("SoftPrompt.sln not found above the test binaries");
    }

    static readonly Lazy<(string Model, string Pgm)> _dirs = new(() =>
    {
        string dir = SoftPrompt.Tests.Shared.RandomGpt2Checkpoint.Write(RepoRoot, Path.Combine(Root, "gpt2-random"));
        string pgmDir = Path.Combine(Root, "pgm");
        var lm = ModelLoader.Load(dir);
        var pgm = new PromptGenerator(new PgmConfig(PromptDesign.HiddenState, PadTokens: 2, LoraRank: 1), lm, new Rng(1));
        PgmDirectory.Save(pgmDir, pgm, lm, new EpisodeFormat(), 2, 0);
        return (dir, pgmDir);
    });

    public static string ModelDir => _dirs.Value.Model;

    static readonly Lazy<string> _long = new(() => SoftPrompt.Tests.Shared.RandomGpt2Checkpoint.Write(RepoRoot, Path.Combine(Root, "gpt2-random-long"), positions: 2048));

    /// <summary>The same random GPT-2 with 2,048 positions: long enough generations to leave a stream in the middle.</summary>
    public static string LongModelDir => _long.Value;
    public static string PgmDir => _dirs.Value.Pgm;

    public static string NewDataDir() => Path.Combine(Root, "data-" + Guid.NewGuid().ToString("N")[..8]);
}

/// <summary>A real Kestrel on 127.0.0.1 and a free port, over a data directory; ready (model loaded) when Start returns.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    public SoftPromptServer Server { get; }
    public HttpClient Http { get; }
    public string AdminKey { get; }

    RunningServer(SoftPromptServer server, string adminKey)
    {
        Server = server;
        AdminKey = adminKey;
        Http = new HttpClient { BaseAddress = new Uri(server.Urls.Single()), Timeout = TimeSpan.FromSeconds(120) };
    }

    public static async Task<RunningServer> Start(string dataDir, string? adminKey = null, Action<ServerOptions>? configure = null)
    {
        var server = SoftPromptServer.Create(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.ModelDir = TestModels.ModelDir;
            o.PgmDir = TestModels.PgmDir;
            o.DataDir = dataDir;
            configure?.Invoke(o);
        });
        await server.StartAsync();
        await server.Host.WhenLoaded;
        return new RunningServer(server, server.FirstAdminKey ?? adminKey ?? throw new InvalidOperationException("no admin key"));
    }

    public HttpRequestMessage Request(HttpMethod method, string path, string? key, object? json = null, string? raw = null)
    {
        var m = new HttpRequestMessage(method, path);
        if (key is not null) m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (raw is not null) m.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        else if (json is not null) m.Content = new StringContent(json is JsonNode n ? n.ToJsonString() : System.Text.Json.JsonSerializer.Serialize(json), Encoding.UTF8, "application/json");
        return m;
    }

    public async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> Send(HttpMethod method, string path, string? key, object? json = null, string? raw = null)
    {
        var response = await Http.SendAsync(Request(method, path, key, json, raw));
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
