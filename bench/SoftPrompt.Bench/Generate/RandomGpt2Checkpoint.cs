using System.Text.Json;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Bench.Generate;

/// <summary>
/// A GPT-2-small-shaped checkpoint with random weights in Hugging Face layout (config.json +
/// model.safetensors, float32, Conv1D [in, out] weights, no "transformer." prefix), written once into
/// the ignored bench/results/cache/ and reused while its metadata names this generator's version.
/// </summary>
public static class RandomGpt2Checkpoint
{
    public const int Vocab = 50257, D = 768, Layers = 12, Heads = 12, Positions = 1024;
    const string Version = "gpt2-small-random-v1 seed 1234";

    public static string Ensure(string repoRoot)
    {
        string dir = Path.Combine(repoRoot, "bench", "results", "cache", "gpt2-small-random");
        string weights = Path.Combine(dir, "model.safetensors");
        if (File.Exists(Path.Combine(dir, "config.json")) && File.Exists(weights) && IsCurrent(weights)) return dir;
        Directory.CreateDirectory(dir);
        Console.Error.WriteLine($"writing a random GPT-2-small checkpoint to {dir} (once) …");
        var rng = new Rng(1234);
        Tensor Normal(float mean, float std, params int[] shape)
        {
            var t = Tensor.ZerosOnHeap(shape);
            rng.FillNormal(t.Span, mean, std);
            return t;
        }
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("wte.weight", Normal(0, 0.02f, Vocab, D)),
            new("wpe.weight", Normal(0, 0.01f, Positions, D)),
        };
        for (int i = 0; i < Layers; i++)
        {
            string h = $"h.{i}.";
            tensors.Add(new(h + "ln_1.weight", Normal(1, 0.05f, D)));
            tensors.Add(new(h + "ln_1.bias", Normal(0, 0.02f, D)));
            tensors.Add(new(h + "attn.c_attn.weight", Normal(0, 0.02f, D, 3 * D)));
            tensors.Add(new(h + "attn.c_attn.bias", Normal(0, 0.02f, 3 * D)));
            tensors.Add(new(h + "attn.c_proj.weight", Normal(0, 0.02f, D, D)));
            tensors.Add(new(h + "attn.c_proj.bias", Normal(0, 0.02f, D)));
            tensors.Add(new(h + "ln_2.weight", Normal(1, 0.05f, D)));
            tensors.Add(new(h + "ln_2.bias", Normal(0, 0.02f, D)));
            tensors.Add(new(h + "mlp.c_fc.weight", Normal(0, 0.02f, D, 4 * D)));
            tensors.Add(new(h + "mlp.c_fc.bias", Normal(0, 0.02f, 4 * D)));
            tensors.Add(new(h + "mlp.c_proj.weight", Normal(0, 0.02f, 4 * D, D)));
            tensors.Add(new(h + "mlp.c_proj.bias", Normal(0, 0.02f, D)));
        }
        tensors.Add(new("ln_f.weight", Normal(1, 0.05f, D)));
        tensors.Add(new("ln_f.bias", Normal(0, 0.02f, D)));
        SafetensorsWriter.Write(weights, tensors, new Dictionary<string, string> { ["format"] = "pt", ["softprompt_bench"] = Version });
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gpt2", ["architectures"] = new[] { "GPT2LMHeadModel" }, ["vocab_size"] = Vocab, ["n_embd"] = D,
            ["n_layer"] = Layers, ["n_head"] = Heads, ["n_positions"] = Positions, ["n_inner"] = null, ["layer_norm_epsilon"] = 1e-5,
            ["activation_function"] = "gelu_new", ["tie_word_embeddings"] = true, ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        return dir;
    }

    static bool IsCurrent(string weights)
    {
        try
        {
            using var f = SafetensorsFile.Open(weights);
            return f.Metadata.TryGetValue("softprompt_bench", out var v) && v == Version;
        }
        catch (SafetensorsException) { return false; }
    }

    /// <summary>The checkpoint's weights: every matrix as a FrozenWeight held as <paramref name="storage"/> says, vectors as float32 tensors.</summary>
    public static (List<Tensors.Weights.FrozenWeight> Matrices, List<Tensor> Vectors) LoadAll(string dir, WeightStorage storage)
    {
        using var ckpt = SafetensorsCheckpoint.Open(dir);
        var matrices = new List<Tensors.Weights.FrozenWeight>();
        var vectors = new List<Tensor>();
        foreach (string name in ckpt.TensorNames)
        {
            var shape = ckpt.Entry(name).Shape;
            if (shape.Length == 2) matrices.Add(ckpt.LoadFrozen(name, storage, shape));
            else vectors.Add(ckpt.LoadWeight(name, shape));
        }
        return (matrices, vectors);
    }
}
