using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests;

/// <summary>
/// JSON calls to a server at a URL, for servers a test does not hold in-process (a separate `softprompt serve` process):
/// the same Send as <see cref="RunningServer"/>'s.
/// </summary>
internal sealed class ApiClient(Uri baseAddress) : IDisposable
{
    public HttpClient Http { get; } = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };

    public HttpRequestMessage Request(HttpMethod method, string path, string? key, object? json = null)
    {
        var m = new HttpRequestMessage(method, path);
        if (key is not null) m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null) m.Content = new StringContent(json is JsonNode n ? n.ToJsonString() : System.Text.Json.JsonSerializer.Serialize(json), Encoding.UTF8, "application/json");
        return m;
    }

    public async Task<(int Status, JsonNode? Body)> Send(HttpMethod method, string path, string? key, object? json = null)
    {
        using var response = await Http.SendAsync(Request(method, path, key, json));
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public void Dispose() => Http.Dispose();
}
