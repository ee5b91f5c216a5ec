using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Server.Tests.Fuzz;

/// <summary>
/// What the fuzzer aims at on a running server: the admin's key and a non-admin's, the ids of things that exist (a tenant
/// other than those two, a task, a job), the base model's name, a valid adapter archive.
/// </summary>
internal sealed record FuzzTargets(string AdminKey, string OtherKey, string OtherTenant, string TaskId, string JobId, string ModelName, byte[] AdapterZip);

/// <summary>
/// Requests made by mutating valid ones, from a seed (the same seed, the same requests): JSON bodies of every POST route
/// changed in their structure (fields removed, added, retyped, nested too deep, numbers too large) and in their bytes
/// (truncated, bits flipped, bytes that are not UTF-8, duplicate keys, lone surrogates); multipart adapter uploads with
/// damaged parts; random methods, paths, queries and headers (no key, a bad one, another tenant's, headers up to and past
/// Kestrel's limits); and HTTP that is malformed itself (request lines, lengths, chunked framing).
/// </summary>
internal sealed class RequestFuzzer(int seed, FuzzTargets t)
{
    readonly Random _rng = new(seed);

    public FuzzCase Next(int index) => _rng.Next(100) switch
    {
        < 55 => JsonCase(index),
        < 65 => UploadCase(index),
        < 85 => RandomRouteCase(index),
        _ => MalformedHttpCase(index),
    };

    // ---- JSON bodies ----

    FuzzCase JsonCase(int index)
    {
        var (path, body) = _rng.Next(6) switch
        {
            0 => ("/v1/tasks", Node(ServerApiTests.TaskBody("fuzzed"))),
            1 => ("/v1/tasks", Node(JobsTests.Body(Pick("prompt", "ptuning", "prefix", "deep", "lora"), 2))),
            2 or 3 => ("/v1/completions", Node(new { model = Pick(t.TaskId, t.ModelName), prompt = "xy", max_tokens = 4, temperature = Pick(0.0, 0.7), top_p = 0.9, stop = new[] { "\n" }, seed = 3, stream = _rng.Next(2) == 0 })),
            4 => (Pick("/v1/admin/tenants", "/v1/admin/keys"), Node(new { name = "fuzzed tenant", admin = false, tenant = t.OtherTenant, label = "fuzzed" })),
            _ => ($"/v1/fine_tuning/jobs/{Pick(t.JobId, MutateId(t.JobId))}/cancel", Node(new { reason = "fuzzed" })),
        };
        for (int m = 1 + _rng.Next(3); m > 0; m--) body = MutateTree(body);
        byte[] bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        if (_rng.Next(3) == 0) bytes = MutateBytes(bytes);
        string contentType = _rng.Next(10) switch
        {
            < 7 => "application/json",
            7 => Pick("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", ""),
            8 => "application/json; charset=\"\u00ff\"",
            _ => "",
        };
        return new FuzzCase(index, $"json {path}", Http("POST", path, Auth(), bytes, contentType));
    }

    static JsonNode Node(object o) => JsonNode.Parse(JsonSerializer.Serialize(o))!;

    /// <summary>One structural change somewhere in the tree: a value replaced, a field removed or added, a value wrapped.</summary>
    JsonNode MutateTree(JsonNode root)
    {
        var containers = new List<JsonNode>();
        void Walk(JsonNode? n)
        {
            if (n is JsonObject o) { containers.Add(o); foreach (var (_, v) in o) Walk(v); }
            else if (n is JsonArray a) { containers.Add(a); foreach (var v in a) Walk(v); }
        }
        Walk(root);
        if (containers.Count == 0 || _rng.Next(20) == 0) return RandomValue() ?? JsonValue.Create(0);   // the whole body is something else
        switch (containers[_rng.Next(containers.Count)])
        {
            case JsonObject o when o.Count > 0 && _rng.Next(4) == 0:
                o.Remove(o.ElementAt(_rng.Next(o.Count)).Key);
                break;
            case JsonObject o when _rng.Next(3) == 0:
                o[Pick("extra", "", "name", "examples", "max_tokens", "stream", "\u0000", new string('k', 300))] = RandomValue();
                break;
            case JsonObject o when o.Count > 0:
                string key = o.ElementAt(_rng.Next(o.Count)).Key;
                o[key] = _rng.Next(5) == 0 ? new JsonArray(o[key]?.DeepClone()) : RandomValue();
                break;
            case JsonArray a when a.Count > 0 && _rng.Next(3) == 0:
                a.RemoveAt(_rng.Next(a.Count));
                break;
            case JsonArray a when a.Count > 0:
                a[_rng.Next(a.Count)] = RandomValue();
                break;
            case JsonArray a:
                a.Add(RandomValue());
                break;
        }
        return root;
    }

    JsonNode? RandomValue() => _rng.Next(16) switch
    {
        0 => null,
        1 => JsonValue.Create(_rng.Next(2) == 0),
        2 => JsonValue.Create(Pick(0L, -1L, 1L, int.MaxValue + 1L, long.MaxValue, long.MinValue)),
        3 => JsonValue.Create(Pick(0.5, -0.5, 1e308, -1e308, 5e-324, 2.5)),
        4 => Raw(Pick("1e400", "-1e400", "1" + new string('0', 400), "18446744073709551616", "-0", "1E-400")),
        5 => JsonValue.Create(""),
        6 => JsonValue.Create(Pick("x", "ab", "task-0123456789abcdef", "../../etc/passwd", t.TaskId, t.ModelName, "method", "metal", "prompt", "full")),
        7 => JsonValue.Create(Pick("\u0000", "\uffff", "😀", "\u202e\u0301", "a\r\nb", "<img src=x>", "'; DROP TABLE tasks; --", "%s%n")),
        8 => JsonValue.Create(new string(Pick('a', 'é', '中'), Pick(1000, 100_000, 300_000))),
        9 => new JsonArray(),
        10 => new JsonObject(),
        11 => new JsonArray([.. Enumerable.Range(0, Pick(5, 300, 5000)).Select(i => (JsonNode)new JsonObject { ["input"] = $"i{i}", ["output"] = $"o{i}" })]),
        12 => Nested(Pick(10, 31, 33, 200)),
        13 => new JsonObject { ["input"] = "ab", ["output"] = RandomScalar() },
        14 => new JsonArray(RandomScalar(), RandomScalar()),
        _ => JsonValue.Create(_rng.Next(-5, 5000)),
    };

    JsonNode? RandomScalar() => _rng.Next(4) switch { 0 => null, 1 => JsonValue.Create(7), 2 => JsonValue.Create("s"), _ => JsonValue.Create(false) };

    static JsonNode Raw(string literal) => JsonValue.Create(JsonDocument.Parse(literal).RootElement.Clone())!;

    static JsonNode Nested(int depth)
    {
        JsonNode n = JsonValue.Create(1);
        for (int i = 0; i < depth; i++) n = new JsonArray(n);
        return n;
    }

    /// <summary>Changes to the body's bytes that no JSON tree can make.</summary>
    byte[] MutateBytes(byte[] b)
    {
        var s = new List<byte>(b);
        switch (_rng.Next(10))
        {
            case 0: return b[..(b.Length == 0 ? 0 : _rng.Next(b.Length))];                                             // truncated
            case 1: for (int i = 1 + _rng.Next(4); i > 0 && s.Count > 0; i--) s[_rng.Next(s.Count)] ^= (byte)(1 << _rng.Next(8)); break;   // bits flipped
            case 2: s.InsertRange(_rng.Next(s.Count + 1), Pick<byte[]>([0xff], [0xc3], [0xed, 0xa0, 0x80], [0x00], [0xf4, 0x90, 0x80, 0x80], [0xfe, 0xff])); break;   // not UTF-8
            case 3: if (s.Count > 1 && s[0] == '{') s.InsertRange(1, Encoding.UTF8.GetBytes(Pick("\"name\":1,", "\"model\":\"a\",", "\"examples\":[],", "\"stream\":true,\"stream\":false,"))); break;   // duplicate keys
            case 4: int q = s.IndexOf((byte)'"', 1); if (q > 0) s.InsertRange(q + 1, Encoding.UTF8.GetBytes(Pick("\\ud800", "\\udfff", "\\u0000", "\\uZZZZ", "\\"))); break;   // lone surrogates, bad escapes
            case 5: s.InsertRange(0, Encoding.UTF8.GetBytes(new string('[', 5000))); break;                                  // nesting past any depth
            case 6: s.InsertRange(0, [0xef, 0xbb, 0xbf]); break;                                                             // a BOM
            case 7: return Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(b));                                           // UTF-16
            case 8: s.AddRange(Encoding.UTF8.GetBytes(Pick("}", "]", ",", " {}", "\u0000"))); break;                       // trailing junk
            default: s.Clear(); s.AddRange(Encoding.UTF8.GetBytes(Pick("", " ", "null", "[]", "\"s\"", "{", "{}", "{\"a\":}", "nul"))); break;
        }
        return [.. s];
    }

    // ---- multipart adapter uploads ----

    FuzzCase UploadCase(int index)
    {
        string boundary = "fuzz" + _rng.Next(1_000_000);
        byte[] archive = (byte[])t.AdapterZip.Clone();
        if (_rng.Next(3) > 0) for (int f = 1 + _rng.Next(6); f > 0; f--) archive[_rng.Next(archive.Length)] ^= (byte)(1 << _rng.Next(8));
        if (_rng.Next(5) == 0) archive = archive[.._rng.Next(archive.Length)];
        var body = new MemoryStream();
        void Write(string s) => body.Write(Encoding.UTF8.GetBytes(s));
        if (_rng.Next(6) > 0)
        {
            Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{Pick("file", "file", "FILE", "", "file\"; name=\"name")}\"; filename=\"{Pick("a.zip", "../../x", "\u00ff")}\"\r\nContent-Type: application/zip\r\n\r\n");
            body.Write(archive);
            Write("\r\n");
        }
        if (_rng.Next(5) > 0) Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{Pick("uploaded", "", "  ", new string('n', 1000), "\u0000")}\r\n");
        if (_rng.Next(8) == 0) Write($"--{boundary}\r\n{Pick("X: y", "Content-Disposition: attachment", "Content-Disposition: form-data")}\r\n\r\nstray\r\n");
        if (_rng.Next(6) > 0) Write($"--{boundary}--\r\n");
        byte[] bytes = body.ToArray();
        if (_rng.Next(6) == 0) bytes = MutateBytes(bytes);
        string type = _rng.Next(8) switch
        {
            0 => "multipart/form-data",
            1 => $"multipart/form-data; boundary={new string('b', 300)}",
            2 => "multipart/form-data; boundary=\"\"",
            3 => "application/zip",
            _ => $"multipart/form-data; boundary={(_rng.Next(10) == 0 ? "other" : boundary)}",
        };
        return new FuzzCase(index, "upload /v1/adapters", Http("POST", "/v1/adapters", Auth(), bytes, type));
    }

    // ---- random routes and headers ----

    static readonly string[] Routes =
    [
        "/", "/healthz", "/readyz", "/metrics", "/openapi/v1.json", "/app.js", "/v1", "/v1/models", "/v1/tasks", "/v1/tasks/{task}",
        "/v1/completions", "/v1/adapters", "/v1/fine_tuning/jobs", "/v1/fine_tuning/jobs/{job}", "/v1/fine_tuning/jobs/{job}/cancel",
        "/v1/admin/tenants", "/v1/admin/tenants/{tenant}", "/v1/admin/keys", "/v1/admin/keys?tenant={tenant}", "/v1/admin/keys/{prefix}",
    ];

    FuzzCase RandomRouteCase(int index)
    {
        string route = Pick(Routes);
        string path = route
            .Replace("{task}", Pick(t.TaskId, MutateId(t.TaskId), Segment()))
            .Replace("{job}", Pick(t.JobId, MutateId(t.JobId), Segment()))
            .Replace("{tenant}", Pick(t.OtherTenant, MutateId(t.OtherTenant), Segment()))
            .Replace("{prefix}", Pick("0123456789ab", "zz", "01234567", Segment()));
        if (_rng.Next(4) == 0) path += Pick("?", "?a=b&a=c", "?tenant=%ff%fe", "?%zz", "?" + new string('q', 4000), "#frag", "/", "//", "/..", "%00");
        string method = Pick("GET", "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "FOO");
        var headers = Auth();
        for (int h = _rng.Next(4); h > 0; h--) headers.Add(RandomHeader());
        byte[]? body = _rng.Next(3) == 0 ? Encoding.UTF8.GetBytes(Pick("{}", "{\"name\":\"x\"}", "not json", "")) : null;
        return new FuzzCase(index, $"route {method} {route}", Http(method, path, headers, body, _rng.Next(2) == 0 ? "application/json" : ""));
    }

    string Segment() => Pick("..%2F..%2Fsoftprompt.db", "%00", "task-ZZZZZZZZZZZZZZZZ", "%e2%80%ae", "%ff%fe", new string('s', 3000), "job-", "tenant-0000000000000000", "%2e%2e", "a b");

    string MutateId(string id) => _rng.Next(4) switch
    {
        0 => id.ToUpperInvariant(),
        1 => id[..^1],
        2 => id + "0",
        _ => id[..^1] + Pick("g", "%00", "/", "."),
    };

    (string, byte[]) RandomHeader() => _rng.Next(8) switch
    {
        0 => ("X-Large", Encoding.ASCII.GetBytes(new string('h', Pick(100, 8_000, 30_000, 40_000)))),   // to Kestrel's 32 KiB of headers and past it
        1 => ("X-Bytes", [0x80, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
        2 => ("Content-Type", Encoding.ASCII.GetBytes(Pick("application/json; charset=ebcdic", "multipart/form-data; boundary=", "*/*", ";;;"))),
        3 => ("Accept", Encoding.ASCII.GetBytes(Pick("text/event-stream", "application/xml", "*/*;q=foo"))),
        4 => ("Expect", Encoding.ASCII.GetBytes(Pick("100-continue", "200-ok"))),
        5 => ("Accept-Encoding", Encoding.ASCII.GetBytes(Pick("gzip, deflate, br", "identity;q=0", "x"))),
        6 => ("Origin", Encoding.ASCII.GetBytes("http://evil.example")),
        _ => ("X-Empty", []),
    };

    List<(string, byte[])> Auth()
    {
        string? value = _rng.Next(20) switch
        {
            < 13 => $"Bearer {t.AdminKey}",
            13 => $"Bearer {t.OtherKey}",
            14 => null,
            15 => "Basic YWRtaW46YWRtaW4=",
            16 => "Bearer sp-" + new string('0', 64),
            17 => "Bearer " + new string('k', Pick(10, 600, 20_000)),
            18 => "Bearer",
            _ => "bearer   " + t.AdminKey + "  ",
        };
        var list = new List<(string, byte[])>();
        if (value is not null) list.Add(("Authorization", Encoding.ASCII.GetBytes(value)));
        if (_rng.Next(40) == 0) list.Add(("Authorization", [0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xff, 0xfe]));   // "Bearer " and bytes that are not text
        return list;
    }

    // ---- malformed HTTP ----

    FuzzCase MalformedHttpCase(int index)
    {
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { model = t.ModelName, prompt = "xy", max_tokens = 2 }));
        string auth = $"Authorization: Bearer {t.AdminKey}\r\n";
        byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
        switch (_rng.Next(9))
        {
            case 0:   // a body shorter than its Content-Length, the client then closing its side
                return new FuzzCase(index, "truncated body", [.. Ascii($"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {json.Length + 1 + _rng.Next(5000)}\r\nConnection: close\r\n\r\n"), .. json[.._rng.Next(json.Length)]], WellFormed: false, CloseAfterSending: true);
            case 1:   // chunked framing that lies or breaks
                return new FuzzCase(index, "bad chunked", Ascii($"POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{Pick("zz\r\n{}\r\n0\r\n\r\n", "ffffffffffffffff\r\n{}\r\n0\r\n\r\n", "2\r\n{}}\r\n0\r\n\r\n", "2;ext=\"\r\n{}\r\n0\r\n\r\n", "0\r\nX-Trailer: \u00ff\r\n\r\n")}"), WellFormed: false, CloseAfterSending: true);
            case 2:   // two Content-Lengths, or one with Transfer-Encoding
                return new FuzzCase(index, "conflicting lengths", [.. Ascii($"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {json.Length}\r\n{Pick($"Content-Length: {json.Length + 3}", "Transfer-Encoding: chunked", "Content-Length: -1", "Content-Length: 99999999999999999999")}\r\nConnection: close\r\n\r\n"), .. json], WellFormed: false, CloseAfterSending: true);
            case 3:   // request lines that are not HTTP
                return new FuzzCase(index, "bad request line", Ascii(Pick("GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /\r\n\r\n", " / HTTP/1.1\r\n\r\n", "GET http://example.com/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\r\n\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")), WellFormed: false, CloseAfterSending: true);
            case 4:   // bytes that are not text in the request line
                return new FuzzCase(index, "binary request line", [.. Ascii("GET /v1/tasks/"), 0xff, 0x00, 0xc3, .. Ascii(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")], WellFormed: false, CloseAfterSending: true);
            case 5:   // a request line past Kestrel's 8 KiB
                return new FuzzCase(index, "long request line", Ascii($"GET /v1/tasks/{new string('a', 9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), WellFormed: false, CloseAfterSending: true);
            case 6:   // a header without a colon, or folded over two lines
                return new FuzzCase(index, "bad header", Ascii($"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{Pick("NoColon\r\n", "X-Folded: a\r\n b\r\n", ": empty-name\r\n", "X Space: y\r\n")}Connection: close\r\n\r\n"), WellFormed: false, CloseAfterSending: true);
            case 7:   // random bytes
                var junk = new byte[_rng.Next(1, 2000)];
                _rng.NextBytes(junk);
                return new FuzzCase(index, "random bytes", junk, WellFormed: false, CloseAfterSending: true);
            default:   // no Host header
                return new FuzzCase(index, "no host", Ascii($"GET /v1/models HTTP/1.1\r\n{auth}Connection: close\r\n\r\n"), WellFormed: false, CloseAfterSending: true);
        }
    }

    // ---- building requests ----

    /// <summary>An HTTP/1.1 request: Host, Connection: close, the given headers, and the body with its Content-Length.</summary>
    static byte[] Http(string method, string target, List<(string Name, byte[] Value)> headers, byte[]? body, string contentType)
    {
        var r = new MemoryStream();
        void Ascii(string s) => r.Write(Encoding.ASCII.GetBytes(s));
        Ascii($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        foreach (var (name, value) in headers) { Ascii(name + ": "); r.Write(value); Ascii("\r\n"); }
        if (contentType.Length > 0) { Ascii("Content-Type: "); r.Write(Encoding.UTF8.GetBytes(contentType)); Ascii("\r\n"); }
        if (body is not null) Ascii($"Content-Length: {body.Length}\r\n");
        Ascii("\r\n");
        if (body is not null) r.Write(body);
        return r.ToArray();
    }

    T Pick<T>(params T[] options) => options[_rng.Next(options.Length)];
}
