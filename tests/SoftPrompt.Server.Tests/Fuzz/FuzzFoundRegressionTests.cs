using System.Text;
using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests.Fuzz;

/// <summary>The requests the fuzzer found answered 500, each kept: now a 400 problem that names the field where there is one.</summary>
public sealed class FuzzFoundRegressionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    RunningServer S => fixture.S;

    public static TheoryData<string, string, string, string?> JsonBodies => new()
    {
        // Duplicate names: JsonObject threw ArgumentException when the field was first read.
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","stream":true,"stream":false}""", "stream", null },
        { "/v1/tasks", """{"name":"t","name":"u","examples":[{"input":"a","output":"b"}]}""", "name", null },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"a","input":"c","output":"b"}]}""", "input", null },
        // Half a surrogate pair, escaped: reading the string threw InvalidOperationException.
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a\ud800"}""", "prompt", "prompt" },
        { "/v1/completions", """{"model":"gpt2-random","prompt":"a","stop":["x","\udfff"]}""", "stop[1]", "stop[1]" },
        { "/v1/tasks", """{"name":"t","examples":[{"input":"\ud800b","output":"b"}]}""", "examples[0].input", "examples[0].input" },
        { "/v1/admin/tenants", """{"name":"\udfff"}""", "name", "name" },
        { "/v1/tasks", """{"name":"t","\ud800":1,"examples":[{"input":"a","output":"b"}]}""", "surrogate", null },
        { "/v1/tasks", """{"name":"t","examples":[{"\udfff":"a","input":"a","output":"b"}]}""", "surrogate", null },
    };

    [Theory]
    [MemberData(nameof(JsonBodies))]
    public async Task A_body_with_duplicate_names_or_half_a_surrogate_pair_is_400(string path, string raw, string detailMentions, string? field)
    {
        var response = await S.Http.SendAsync(S.Request(HttpMethod.Post, path, S.AdminKey, raw: raw));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, text);
        var problem = JsonNode.Parse(text)!;
        Assert.Contains(detailMentions, (string)problem["detail"]!);
        Assert.Equal(field, (string?)problem["field"]);
    }

    [Fact]
    public async Task A_chunk_size_that_overflows_is_400()
    {
        var request = Encoding.ASCII.GetBytes($"POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {S.AdminKey}\r\nContent-Type: application/json\r\n" +
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n");
        var (status, head) = await RawHttp.Send(S.Http.BaseAddress!, request, closeAfterSending: false, TimeSpan.FromSeconds(30));
        Assert.True(status == 400, head);
        Assert.Contains("cannot be read", head);
    }

    [Fact]
    public async Task A_multipart_body_that_ends_before_its_closing_boundary_is_400()
    {
        var body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nPK\u0003\u0004";
        var request = S.Request(HttpMethod.Post, "/v1/adapters", S.AdminKey);
        request.Content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        var response = await S.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, text);
        Assert.Contains("multipart/form-data body cannot be read", (string)JsonNode.Parse(text)!["detail"]!);
    }
}
