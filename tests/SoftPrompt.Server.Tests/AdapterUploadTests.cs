using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Server.Tests;

/// <summary>A server of its own with small adapter limits (32 KiB archives, 256 KiB unpacked), so that the limits are cheap to pass.</summary>
public sealed class AdapterServerFixture : IAsyncLifetime
{
    public const long MaxArchive = 32 * 1024, MaxUnpacked = 256 * 1024;
    internal RunningServer S { get; private set; } = null!;

    public async Task InitializeAsync() => S = await RunningServer.Start(TestModels.NewDataDir(), configure: o =>
    {
        o.MaxAdapterBytes = MaxArchive;
        o.MaxAdapterUnpackedBytes = MaxUnpacked;
    });

    public async Task DisposeAsync() => await S.DisposeAsync();
}

public sealed class AdapterUploadTests(AdapterServerFixture fixture) : IClassFixture<AdapterServerFixture>
{
    RunningServer S => fixture.S;
    static readonly Lazy<ICausalLanguageModel> Model = new(() => ModelLoader.Load(TestModels.ModelDir));

    /// <summary>An adapter folder's files, made the way the CLI saves one (a random prompt-tuning or LoRA method for the test model).</summary>
    internal static Dictionary<string, byte[]> AdapterFiles(string method = "prompt", int seed = 1)
    {
        string dir = Path.Combine(Path.GetTempPath(), "softprompt-adapter-" + Guid.NewGuid().ToString("N")[..8]);
        var m = MethodRegistry.Get(method).Create(new MethodOptions { VirtualTokens = 3, LoraRank = 2, TargetModules = ["c_attn"] }, Model.Value, new Rng((ulong)seed));
        AdapterDirectory.Save(dir, m, Model.Value, "gpt2-random", method == "prompt" ? new JsonObject { ["template"] = "{soft:3}{input} =>{answer}", ["answer_field"] = "answer" } : null);
        var files = Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Directory.Delete(dir, true);
        return files;
    }

    static byte[] Zip(IEnumerable<(string Name, byte[] Bytes)> entries, Action<ZipArchiveEntry, string>? tweak = null)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                var e = zip.CreateEntry(name, CompressionLevel.Optimal);
                e.LastWriteTime = FixedTime;   // the same bytes every run, so the corruption trials are the same every run
                tweak?.Invoke(e, name);
                using var s = e.Open();
                s.Write(bytes);
            }
        return ms.ToArray();
    }

    internal static byte[] Zip(Dictionary<string, byte[]> files, string prefix = "") => Zip(files.Select(kv => (prefix + kv.Key, kv.Value)));

    static byte[] TarGz(IEnumerable<TarEntry> entries)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) tar.WriteEntry(e);
        return ms.ToArray();
    }

    static readonly DateTimeOffset FixedTime = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Fixed times (a pax header otherwise records the clock's), so the archive's bytes are the same every run.
    static PaxTarEntry TarFile(string name, byte[] bytes) =>
        new(TarEntryType.RegularFile, name, new Dictionary<string, string> { ["mtime"] = "1767225600", ["atime"] = "1767225600", ["ctime"] = "1767225600" })
        { DataStream = new MemoryStream(bytes), ModificationTime = FixedTime };

    async Task<(int Status, JsonNode? Body)> Upload(byte[]? archive, string? name = "uploaded", string fileName = "adapter.zip", bool expectContinue = false)
    {
        using var form = new MultipartFormDataContent();
        if (archive is not null) form.Add(new ByteArrayContent(archive), "file", fileName);
        if (name is not null) form.Add(new StringContent(name), "name");
        var request = S.Request(HttpMethod.Post, "/v1/adapters", S.AdminKey);
        request.Content = form;
        request.Headers.ExpectContinue = expectContinue;
        var response = await S.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode >= 400) Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    string[] AdapterFolders() => [.. Directory.GetFileSystemEntries(Path.GetDirectoryName(S.Server.Store.AdapterPath("task-0000000000000000"))!).Select(Path.GetFileName).Order()!];

    /// <summary>The upload is refused with status and field, names what it should, and leaves no folder and no task behind.</summary>
    async Task AssertRefused(byte[]? archive, int status, string field, string mentions, string? name = "refused")
    {
        var folders = AdapterFolders();
        int tasks = (await S.Send(HttpMethod.Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray().Count;
        var (got, body) = await Upload(archive, name);
        Assert.True(got == status, $"expected {status}, got {got}: {body?.ToJsonString()}");
        Assert.Equal(field, (string?)body!["field"]);
        string detail = (string)body["detail"]!;
        Assert.Contains(mentions, detail);
        Assert.DoesNotContain(S.Server.Store.DataDir, detail);   // no server path in an answer
        Assert.Equal(folders, AdapterFolders());
        Assert.Equal(tasks, (await S.Send(HttpMethod.Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_prompt_tuning_adapter_zip_becomes_a_ready_task_that_completes_as_the_adapter_does_in_process()
    {
        var files = AdapterFiles("prompt", seed: 5);
        var (status, task) = await Upload(Zip(files), "from peft");
        Assert.True(status == 201, task?.ToJsonString());
        string id = (string)task!["id"]!;
        Assert.Equal(("from peft", "prompt", "ready"), ((string)task["name"]!, (string)task["method"]!, (string)task["state"]!));
        var prompt = task["prompt"]!;
        Assert.Equal("PROMPT_TUNING", (string)prompt["peft_type"]!);
        Assert.Equal(3, (int)prompt["virtual_tokens"]!);
        var nearest = prompt["nearest_tokens"]!.AsArray();
        Assert.Equal(3, nearest.Count);
        Assert.All(nearest, list => Assert.Equal(5, list!.AsArray().Count));
        Assert.Equal(files.Keys.Order(), Directory.GetFiles(S.Server.Store.AdapterPath(id)).Select(Path.GetFileName).Order());
        Assert.DoesNotContain(AdapterFolders(), f => f!.EndsWith(".upload"));
        Assert.Contains(id, (await S.Send(HttpMethod.Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray().Select(t => (string)t!["id"]!));

        var (cs, completion, _) = await S.Send(HttpMethod.Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "pq", max_tokens = 5, temperature = 0 });
        Assert.True(cs == 200, completion?.ToJsonString());
        // The same files loaded in-process give the same greedy text: the upload stored the adapter unchanged.
        string dir = Path.Combine(Path.GetTempPath(), "softprompt-adapter-check-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        foreach (var (n, b) in files) File.WriteAllBytes(Path.Combine(dir, n), b);
        var tokenizer = Tokenizer.FromDirectory(TestModels.ModelDir);
        var (ids, plan) = AdapterPrompt.Build(AdapterDirectory.Load(dir, Model.Value), new TokenizerEncoder(tokenizer), "pq");
        Directory.Delete(dir, true);
        var expected = Generator.Generate(Model.Value, ids, new GenerationOptions(5, 0f, EosTokenId: 50256) { StopTokenIds = [50256] }, plan).ToArray();
        Assert.Equal(tokenizer.Decode(expected, skipSpecialTokens: true), (string)completion!["choices"]![0]!["text"]!);
        Assert.Equal(ids.Length, (int)completion["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task A_lora_adapter_as_a_tar_gz_of_its_folder_becomes_a_task_that_completes()
    {
        var files = AdapterFiles("lora");
        var archive = TarGz([new PaxTarEntry(TarEntryType.Directory, "./"), new PaxTarEntry(TarEntryType.Directory, "./my-adapter/"),
            .. files.Select(kv => TarFile("./my-adapter/" + kv.Key, kv.Value)), TarFile("./my-adapter/README.md", Encoding.UTF8.GetBytes("# model card"))]);
        var (status, task) = await Upload(archive, "lora upload", "whatever.name");
        Assert.True(status == 201, task?.ToJsonString());
        Assert.Equal("lora", (string)task!["method"]!);
        Assert.Null(task["prompt"]!["nearest_tokens"]);   // LoRA has no virtual tokens to read
        string id = (string)task["id"]!;
        Assert.False(File.Exists(Path.Combine(S.Server.Store.AdapterPath(id), "README.md")));   // accepted, not kept
        var (cs, completion, _) = await S.Send(HttpMethod.Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "ab", max_tokens = 3, temperature = 0 });
        Assert.True(cs == 200, completion?.ToJsonString());
    }

    [Fact]
    public async Task An_adapter_for_another_model_shape_is_400_naming_the_tensor()
    {
        var files = AdapterFiles("prompt");
        string weights = Path.Combine(Path.GetTempPath(), "softprompt-weights-" + Guid.NewGuid().ToString("N")[..8] + ".safetensors");
        File.WriteAllBytes(weights, files[AdapterDirectory.WeightsFile]);
        List<KeyValuePair<string, Tensor>> tensors;
        using (var f = SafetensorsFile.Open(weights))
            tensors = [.. f.Entries.Select(e => new KeyValuePair<string, Tensor>(e.Key, Tensor.ZerosOnHeap(e.Value.Shape[0], e.Value.Shape[1] * 2)))];   // d = 32: another model's width
        SafetensorsWriter.Write(weights, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        files[AdapterDirectory.WeightsFile] = File.ReadAllBytes(weights);
        File.Delete(weights);
        await AssertRefused(Zip(files), 400, "file", $"{AdapterDirectory.WeightsFile}: tensor '{tensors[0].Key}' is [3, 32]; this model needs [3, 16]");
    }

    public static TheoryData<string, string> BadEntryNames => new()
    {
        { "../adapter_config.json", "'..' parts are refused" },
        { "a/../../adapter_config.json", "'..' parts are refused" },
        { "/etc/adapter_config.json", "absolute names" },
        { "C:\\adapter_config.json", "backslashes" },
        { "a/b/adapter_config.json", "folders inside folders" },
        { "run.sh", "not a file of an adapter" },
        { "adapter_model.bin", "pickled weights are not read" },
    };

    [Theory]
    [MemberData(nameof(BadEntryNames))]
    public async Task An_entry_name_that_is_not_a_plain_adapter_file_is_400_naming_it(string entry, string why)
    {
        var files = AdapterFiles();
        var zip = Zip([.. files.Select(kv => (kv.Key, kv.Value)), (entry, [1, 2, 3])]);
        await AssertRefused(zip, 400, "file", $"entry '{entry}'");
        await AssertRefused(zip, 400, "file", why);
        await AssertRefused(TarGz([.. files.Select(kv => TarFile(kv.Key, kv.Value)), TarFile(entry, [1, 2, 3])]), 400, "file", $"entry '{entry}'");
    }

    [Fact]
    public async Task Links_duplicates_mixed_folders_and_too_many_entries_are_400()
    {
        var files = AdapterFiles();
        var tarFiles = files.Select(kv => TarFile(kv.Key, kv.Value)).ToList();
        await AssertRefused(TarGz([.. tarFiles, new PaxTarEntry(TarEntryType.SymbolicLink, "softprompt.json") { LinkName = "/etc/passwd" }]), 400, "file", "SymbolicLink entries");
        await AssertRefused(TarGz([.. tarFiles, new PaxTarEntry(TarEntryType.HardLink, "README.md") { LinkName = "adapter_config.json" }]), 400, "file", "HardLink entries");
        var link = Zip([.. files.Where(kv => kv.Key != AdapterDirectory.ExtrasFile).Select(kv => (kv.Key, kv.Value)), (AdapterDirectory.ExtrasFile, Encoding.UTF8.GetBytes("/etc/passwd"))],
            (e, name) => { if (name == AdapterDirectory.ExtrasFile) e.ExternalAttributes = unchecked((int)0xA1FF0000); });   // a Unix symlink's mode
        await AssertRefused(link, 400, "file", "links and special files are refused");
        await AssertRefused(Zip([.. files.Select(kv => (kv.Key, kv.Value)), (AdapterDirectory.ConfigFile, files[AdapterDirectory.ConfigFile])]), 400, "file", "appears twice");
        await AssertRefused(Zip([("a/" + AdapterDirectory.ConfigFile, files[AdapterDirectory.ConfigFile]), ("b/" + AdapterDirectory.WeightsFile, files[AdapterDirectory.WeightsFile])]), 400, "file", "a second folder");
        await AssertRefused(Zip([(AdapterDirectory.ConfigFile, files[AdapterDirectory.ConfigFile]), ("a/" + AdapterDirectory.WeightsFile, files[AdapterDirectory.WeightsFile])]), 400, "file", "mixes files at its top");
        await AssertRefused(Zip(Enumerable.Range(0, 9).Select(i => ($"d{i}/", Array.Empty<byte>()))), 400, "file", "entries");
    }

    [Fact]
    public async Task Archives_over_the_limits_are_413_and_a_bomb_stops_at_the_unpacked_limit()
    {
        var random = new byte[AdapterServerFixture.MaxArchive + 100];
        new Random(3).NextBytes(random);
        await AssertRefused(random, 413, "file", "larger than this server's limit");
        var bomb = new Dictionary<string, byte[]>(AdapterFiles()) { [AdapterDirectory.WeightsFile] = new byte[AdapterServerFixture.MaxUnpacked + 1] };   // zeros: compresses to ~1 KiB
        Assert.True(Zip(bomb).Length < AdapterServerFixture.MaxArchive);
        await AssertRefused(Zip(bomb), 413, "file", "unpacks past this server's limit");
        await AssertRefused(TarGz(bomb.Select(kv => TarFile(kv.Key, kv.Value))), 413, "file", "unpacks past this server's limit");
        var bigJson = new Dictionary<string, byte[]>(AdapterFiles()) { [AdapterDirectory.ExtrasFile] = new byte[(1 << 20) + 1] };
        await AssertRefused(Zip(bigJson), 413, "file", $"entry '{AdapterDirectory.ExtrasFile}'");

        // Far over the limit: Kestrel's own body limit for this route answers 413 before the form is read.
        var (status, body) = await Upload(new byte[4 * AdapterServerFixture.MaxArchive], expectContinue: true);
        Assert.Equal(413, status);
        Assert.Contains("limit", (string)body!["detail"]!);
    }

    [Fact]
    public async Task A_zip_whose_directory_understates_an_entry_still_stops_at_the_limit()
    {
        var files = AdapterFiles();
        files[AdapterDirectory.WeightsFile] = new byte[AdapterServerFixture.MaxUnpacked + 1];
        var zip = Zip(files);
        // Rewrite every record's uncompressed size of the big entry (local header at +22, central header at +24) to 100 bytes.
        int hits = 0;
        for (int i = 0; i + 4 <= zip.Length; i++)
        {
            uint sig = BitConverter.ToUInt32(zip, i);
            int at = sig == 0x04034b50 ? i + 22 : sig == 0x02014b50 ? i + 24 : -1;
            if (at > 0 && BitConverter.ToUInt32(zip, at) == (uint)(AdapterServerFixture.MaxUnpacked + 1)) { BitConverter.TryWriteBytes(zip.AsSpan(at), 100u); hits++; }
        }
        Assert.Equal(2, hits);
        var folders = AdapterFolders();
        var (status, body) = await Upload(zip);
        Assert.True(status is 400 or 413, body?.ToJsonString());   // either the reader notices the lie or the count stops it: never stored, never 5xx
        Assert.Equal("file", (string?)body!["field"]);
        Assert.Equal(folders, AdapterFolders());
    }

    [Fact]
    public async Task Garbage_truncated_and_incomplete_archives_are_400()
    {
        var files = AdapterFiles();
        await AssertRefused(Encoding.UTF8.GetBytes("this is not an archive at all"), 400, "file", "not a .zip or .tar.gz");
        await AssertRefused([.. "PK"u8, .. new byte[200]], 400, "file", "zip");
        var zip = Zip(files);
        await AssertRefused(zip[..(zip.Length / 2)], 400, "file", "zip");
        var tgz = TarGz(files.Select(kv => TarFile(kv.Key, kv.Value)));
        await AssertRefused(tgz[..(tgz.Length / 2)], 400, "file", "cannot be read");
        await AssertRefused([0x1f, 0x8b, .. new byte[100]], 400, "file", "cannot be read");
        await AssertRefused(Zip(files.Where(kv => kv.Key != AdapterDirectory.WeightsFile).ToDictionary()), 400, "file", $"no {AdapterDirectory.WeightsFile}");
        await AssertRefused(Zip(files.Where(kv => kv.Key != AdapterDirectory.ConfigFile).ToDictionary()), 400, "file", $"no {AdapterDirectory.ConfigFile}");
        var badJson = new Dictionary<string, byte[]>(files) { [AdapterDirectory.ConfigFile] = "{\"peft_type\": "u8.ToArray() };
        await AssertRefused(Zip(badJson), 400, "file", AdapterDirectory.ConfigFile);
        var badWeights = new Dictionary<string, byte[]>(files) { [AdapterDirectory.WeightsFile] = new byte[7] };
        await AssertRefused(Zip(badWeights), 400, "file", AdapterDirectory.WeightsFile);
    }

    [Fact]
    public void Corrupted_archives_are_always_a_4xx_for_the_file_field_never_another_exception()
    {
        var files = AdapterFiles();
        var rng = new Random(7);
        var failures = new List<string>();
        int refused = 0, read = 0;
        foreach (var (kind, good) in new[] { ("zip", Zip(files)), ("tar.gz", TarGz(files.Select(kv => TarFile(kv.Key, kv.Value)))) })
            for (int trial = 0; trial < 400; trial++)
            {
                var bad = (byte[])good.Clone();
                if (trial % 4 == 0) bad = bad[..rng.Next(bad.Length)];                                   // truncated
                else for (int f = 1 + rng.Next(4); f > 0; f--) bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));   // bits flipped
                try { Server.Uploads.AdapterArchive.Unpack(bad, AdapterServerFixture.MaxUnpacked); read++; }
                catch (Server.Hosting.ApiException e) when (e.Status is >= 400 and < 500 && e.Field == "file") { refused++; }
                catch (Exception e) { failures.Add($"{kind} #{trial}: {e.GetType().Name}: {e.Message}"); }
            }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.True(refused > 100, $"only {refused} of 800 corrupted archives were refused");
    }

    [Fact]
    public async Task Missing_or_wrong_form_fields_are_4xx_naming_the_field()
    {
        var zip = Zip(AdapterFiles());
        await AssertRefused(null, 400, "file", "required");
        await AssertRefused(zip, 400, "name", "required", name: null);
        await AssertRefused(zip, 400, "name", "must not be empty", name: "  ");
        await AssertRefused([], 400, "file", "empty");
        var (status, body, _) = await S.Send(HttpMethod.Post, "/v1/adapters", S.AdminKey, new { name = "x", file = "abc" });
        Assert.Equal(415, status);
        Assert.Contains("multipart/form-data", (string)body!["detail"]!);
        var unauthenticated = await S.Http.PostAsync("/v1/adapters", new ByteArrayContent(zip));
        Assert.Equal(401, (int)unauthenticated.StatusCode);
    }
}
