using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Tests;

/// <summary>
/// Corrupted adapter directories, for every registered method: each field of adapter_config.json and softprompt.json
/// replaced by a value of every other JSON kind, null, out-of-range numbers or removed; tensors dropped, reshaped, the
/// weights file truncated or padded. What `generate --adapter` does with one (load, render a prompt, run the model) either
/// works or fails with one line naming the file — never another exception type, a stack trace or an allocation a
/// corrupted count asked for.
/// </summary>
public sealed class AdapterFuzzTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-adapter-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static readonly JsonNode?[] BadValues =
        [null, new JsonArray(1, 2), new JsonObject { ["x"] = 1 }, "x", "", true, -1, 0, 2.5, 1e30, int.MaxValue, long.MaxValue];

    public static TheoryData<string> Names() => [.. MethodRegistry.All.Select(d => d.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCorruptionIsAOneLineErrorNamingTheFile(string name)
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        var definition = MethodRegistry.Get(name);
        var method = definition.Create(new MethodOptions { VirtualTokens = 3, EncoderHidden = 8, LoraRank = 2, TargetModules = ["c_attn"], Encoder = "lstm" }, model, new Rng(1));
        string good = Path.Combine(_dir, "good");
        AdapterDirectory.Save(good, method, model, "tiny", new JsonObject
        {
            ["template"] = method.VirtualTokens > 0 ? $"{{soft:{method.VirtualTokens}}}{{text}}{{answer}}" : "{text}{answer}", ["answer_field"] = "answer", ["bos_id"] = 1, ["eos_id"] = 2, ["task"] = "generation",
            ["verbalizer"] = new JsonObject { ["yes"] = "great" },
        });
        var failures = new List<string>();
        int cases = 0, loaded = 0;
        void Case(string what, Action<string> corrupt)
        {
            string dir = Path.Combine(_dir, $"case{cases++}");
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(good)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            corrupt(dir);
            try
            {
                GenerateWith(dir, model);
                loaded++;
            }
            catch (Exception e) when (e is AdapterFormatException or SafetensorsException)
            {
                if (e.Message.Contains('\n') || !e.Message.Contains(dir)) failures.Add($"{what}: '{e.Message}' is not one line naming the file");
            }
            catch (Exception e) { failures.Add($"{what}: {e.GetType().Name}: {e.Message}"); }
            finally { Directory.Delete(dir, true); }
        }

        foreach (string file in new[] { AdapterDirectory.ConfigFile, AdapterDirectory.ExtrasFile })
        {
            var original = JsonNode.Parse(File.ReadAllText(Path.Combine(good, file)))!.AsObject();
            foreach (var (key, _) in original.ToArray())
            {
                Case($"{file}: '{key}' removed", dir => Rewrite(dir, file, o => o.Remove(key)));
                foreach (var value in BadValues)
                    Case($"{file}: '{key}' = {value?.ToJsonString() ?? "null"}", dir => Rewrite(dir, file, o => o[key] = value?.DeepClone()));
            }
            Case($"{file}: not JSON", dir => File.WriteAllText(Path.Combine(dir, file), "{\"peft_type\": "));
            Case($"{file}: an array", dir => File.WriteAllText(Path.Combine(dir, file), "[1, 2]"));
            Case($"{file}: removed", dir => File.Delete(Path.Combine(dir, file)));
        }

        string weights = Path.Combine(good, AdapterDirectory.WeightsFile);
        var tensors = ReadAll(weights);
        foreach (var (key, t) in tensors)
        {
            Case($"tensor '{key}' dropped", dir => Write(dir, tensors.Where(kv => kv.Key != key)));
            Case($"tensor '{key}' reshaped", dir => Write(dir, tensors.Select(kv => kv.Key != key ? kv
                : new KeyValuePair<string, Tensor>(key, Tensor.ZerosOnHeap([.. t.Shape.ToArray().Select(s => s + 1)])))));
        }
        Case("a tensor added", dir => Write(dir, tensors.Append(new("softprompt.extra", Tensor.ZerosOnHeap(2, 2)))));
        long length = new FileInfo(weights).Length;
        foreach (long cut in new[] { 0L, 7, 8, 20, length / 2, length - 1 })
            Case($"weights cut to {cut} bytes", dir => { using var f = File.OpenWrite(Path.Combine(dir, AdapterDirectory.WeightsFile)); f.SetLength(cut); });
        Case("weights padded", dir => { using var f = new FileStream(Path.Combine(dir, AdapterDirectory.WeightsFile), FileMode.Append); f.Write(new byte[13]); });

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(loaded > 0 && loaded < cases, $"{loaded} of {cases} corrupted adapters loaded: the cases must exercise both sides");
    }

    /// <summary>What `generate --adapter DIR --prompt …` does with the directory, short of decoding many tokens.</summary>
    static void GenerateWith(string dir, ICausalLanguageModel model)
    {
        var adapter = AdapterDirectory.Load(dir, model);
        var (ids, plan) = AdapterPrompt.Build(adapter, new CharEncoder(), "1 2 3");
        using var _ = Tape.NoGrad();
        model.Forward(ids, 1, ids.Length, new ForwardOptions { Plan = plan });
    }

    static void Rewrite(string dir, string file, Action<JsonObject> change)
    {
        string path = Path.Combine(dir, file);
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(o);
        File.WriteAllText(path, o.ToJsonString());
    }

    static List<KeyValuePair<string, Tensor>> ReadAll(string path)
    {
        using var f = SafetensorsFile.Open(path);
        return [.. f.Entries.Keys.Select(k => new KeyValuePair<string, Tensor>(k, f.LoadTensor(k)))];
    }

    static void Write(string dir, IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        SafetensorsWriter.Write(Path.Combine(dir, AdapterDirectory.WeightsFile), [.. tensors], new Dictionary<string, string> { ["format"] = "pt" });
}
