using System.Text.Json;
using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;

namespace SoftPrompt.Models;

/// <summary>What a Hugging Face checkpoint directory holds, read without loading its weights.</summary>
public sealed record CheckpointInfo(string Directory, ModelConfig Config, long ParameterCount, IReadOnlyDictionary<string, long> ParametersByDtype,
    int TensorCount, string Tokenizer)
{
    public static CheckpointInfo Inspect(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such model directory.");
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        using var ckpt = SafetensorsCheckpoint.Open(directory);
        var byDtype = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        int count = 0;
        foreach (string name in ckpt.TensorNames)
        {
            var e = ckpt.Entry(name);
            // GPT-2 checkpoints carry causal-mask buffers (attn.bias, attn.masked_bias) that are not parameters.
            if (config.Family == ArchitectureFamily.Gpt2 && (name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias"))) continue;
            byDtype[e.Dtype.ToString()] = byDtype.GetValueOrDefault(e.Dtype.ToString()) + e.ElementCount;
            total += e.ElementCount;
            count++;
        }
        return new CheckpointInfo(directory, config, total, byDtype, count, DescribeTokenizer(directory));
    }

    /// <summary>The tokenizer's model type from tokenizer.json, or GPT-2's legacy vocab.json + merges.txt.</summary>
    static string DescribeTokenizer(string directory)
    {
        string json = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(json))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(json));
                if (doc.RootElement.TryGetProperty("model", out var model) && model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String)
                {
                    string pre = doc.RootElement.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var pt)
                        ? $", pre-tokenizer {pt.GetString()}" : "";
                    return $"{type.GetString()} (tokenizer.json{pre})";
                }
                return "tokenizer.json without a model type";
            }
            catch (JsonException e) { return $"tokenizer.json is not valid JSON ({e.Message})"; }
        }
        if (File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt")))
            return "BPE (GPT-2 vocab.json + merges.txt)";
        return "none";
    }
}
