using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Tests.Shared;

/// <summary>
/// A checkpoint directory for tests that need a real tokenizer: GPT-2's tokenizer.json (from .cache/tokenizers, which
/// tools/fetch_tokenizers.sh fills) over a small random GPT-2 of the full vocabulary (1 layer, d = 16, 64 positions unless told more).
/// Linked into the test projects that use it (CLI, server).
/// </summary>
internal static class RandomGpt2Checkpoint
{
    public static string Write(string repoRoot, string dir, int positions = 64)
    {
        string tok = Path.Combine(repoRoot, ".cache", "tokenizers", "gpt2");
        if (!File.Exists(Path.Combine(tok, "tokenizer.json")))
            throw new InvalidOperationException($"{tok}/tokenizer.json is missing: run tools/fetch_tokenizers.sh");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(tok, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"), true);
        const int v = 50257, d = 16;
        int p = positions;
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {"model_type": "gpt2", "vocab_size": {{v}}, "n_embd": {{d}}, "n_layer": 1, "n_head": 2, "n_positions": {{p}},
             "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "bos_token_id": 50256, "eos_token_id": 50256}
            """);
        var rng = new Rng(5);
        Tensor R(float mean, float std, params int[] shape) { var t = Tensor.ZerosOnHeap(shape); rng.FillNormal(t.Span, mean, std); return t; }
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), new Dictionary<string, Tensor>
        {
            ["wte.weight"] = R(0, 0.5f, v, d), ["wpe.weight"] = R(0, 0.1f, p, d),
            ["h.0.ln_1.weight"] = R(1, 0.1f, d), ["h.0.ln_1.bias"] = R(0, 0.1f, d),
            ["h.0.attn.c_attn.weight"] = R(0, 0.3f, d, 3 * d), ["h.0.attn.c_attn.bias"] = R(0, 0.1f, 3 * d),
            ["h.0.attn.c_proj.weight"] = R(0, 0.3f, d, d), ["h.0.attn.c_proj.bias"] = R(0, 0.1f, d),
            ["h.0.ln_2.weight"] = R(1, 0.1f, d), ["h.0.ln_2.bias"] = R(0, 0.1f, d),
            ["h.0.mlp.c_fc.weight"] = R(0, 0.3f, d, 4 * d), ["h.0.mlp.c_fc.bias"] = R(0, 0.1f, 4 * d),
            ["h.0.mlp.c_proj.weight"] = R(0, 0.3f, 4 * d, d), ["h.0.mlp.c_proj.bias"] = R(0, 0.1f, d),
            ["ln_f.weight"] = R(1, 0.1f, d), ["ln_f.bias"] = R(0, 0.1f, d),
        });
        return dir;
    }
}
