using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Cli.Tests;

/// <summary>Runs the softprompt command tree in-process with stdout and stderr captured.</summary>
internal static class CliRunner
{
    static readonly object ConsoleLock = new();

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        lock (ConsoleLock)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o);
            Console.SetError(e);
            // Spectre's console binds to the writer it first sees; give it this run's, so tables and progress lines are captured too.
            var oldAnsi = Spectre.Console.AnsiConsole.Console;
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(o) });
            try { return (CliApp.Create().Parse(args).Invoke(), o.ToString(), e.ToString()); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); Spectre.Console.AnsiConsole.Console = oldAnsi; }
        }
    }

    public static readonly string RepoRoot = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SoftPrompt.sln"))) return d.FullName;
        throw new InvalidOperationException("SoftPrompt.sln not found above the test binaries");
    }

    static readonly Lazy<string> _gpt2Random = new(() =>
    {
        // GPT-2's real tokenizer over a small random GPT-2 of the full vocabulary (1 layer, d = 16).
        string tok = Path.Combine(RepoRoot, ".cache", "tokenizers", "gpt2");
        if (!File.Exists(Path.Combine(tok, "tokenizer.json")))
            throw new InvalidOperationException($"{tok}/tokenizer.json is missing: run tools/fetch_tokenizers.sh");
        string dir = Path.Combine(Path.GetTempPath(), $"softprompt-cli-gpt2-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(tok, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"), true);
        const int v = 50257, d = 16, p = 64;
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
    });

    /// <summary>A checkpoint directory: random GPT-2 weights (vocabulary 50257) with GPT-2's tokenizer.json.</summary>
    public static string Gpt2Random => _gpt2Random.Value;
}
