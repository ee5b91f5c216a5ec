using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// llama.cpp's own <c>llama-bench</c> on the GPT-2-small-shaped GGUF files of ../shared/bench/llamacpp (random
/// weights, tied head), run outside the repository: its tg128@d128 (128 single-token decodes after a 128-token
/// context) and pp128 (one 128-token batch), tokens/s, median of its repetitions. Found through --llama-bench,
/// $LLAMA_BENCH, or bin/llama-bench of the anchor folder copied to ~/llamacpp or built in ../shared/bench/llamacpp;
/// its models are read from models/ next to bin/.
/// </summary>
public static class LlamaBench
{
    public sealed record Result(double Prefill, double Decode, string Command);

    public static string[] Candidates(BenchArgs args, string repoRoot) => new[]
    {
        args.Get("llama-bench"), Environment.GetEnvironmentVariable("LLAMA_BENCH"),
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "llamacpp", "bin", "llama-bench"),
        Path.GetFullPath(Path.Combine(repoRoot, "..", "shared", "bench", "llamacpp", "bin", "llama-bench")),
    }.OfType<string>().ToArray();

    /// <summary>The llama-bench binary, or null with a note that says where this looked and what to run.</summary>
    public static string? Find(BenchArgs args, string repoRoot, out string note)
    {
        var candidates = Candidates(args, repoRoot);
        foreach (var c in candidates)
            if (File.Exists(c)) { note = $"llama.cpp: {c}"; return c; }
        note = $"llama-bench not found (looked at {string.Join(", ", candidates)}); copy ../shared/bench/llamacpp outside the repository, " +
               "run npm ci, ./build_llama_bench.sh and make_gguf.py there (see its README), then pass --llama-bench PATH";
        return null;
    }

    /// <summary>GGUF file for <paramref name="dtype"/> (f32, bf16) next to the binary's folder: models/gpt2-small-tied-DTYPE.gguf.</summary>
    public static string Model(string binary, string dtype) =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(binary)!, "..", "models", $"gpt2-small-tied-{dtype}.gguf"));

    /// <summary>Runs llama-bench once (pp128 and tg128@d128, <paramref name="reps"/> repetitions) on <paramref name="threads"/> threads; null with a note when it fails.</summary>
    public static Result? Run(string binary, string dtype, int threads, int prompt, int tokens, int reps, out string note)
    {
        string model = Model(binary, dtype);
        if (!File.Exists(model))
        {
            note = $"llama.cpp {dtype}: {model} missing (make_gguf.py --dtype {dtype} --tied --out {model})";
            return null;
        }
        // Two calls: pp at an empty cache (as llama-bench's pp128), tg after a prompt-long context (tg128@d128).
        string ppArgs = $"-m {model} -t {threads} -p {prompt} -n 0 -d 0 -r {reps} -o jsonl";
        string tgArgs = $"-m {model} -t {threads} -p 0 -n {tokens} -d {prompt} -r {reps} -o jsonl";
        note = $"llama.cpp {dtype}: {binary} {tgArgs} (and -p {prompt} -n 0 -d 0 for prefill)";
        double? pp = Median(binary, ppArgs, ref note), tg = Median(binary, tgArgs, ref note);
        if (pp is null || tg is null) return null;
        string arguments = tgArgs;
        return new Result(pp.Value, tg.Value, $"{binary} {arguments}");
    }

    /// <summary>The median of llama-bench's samples_ts for its one test, or null (and a note) when it fails.</summary>
    static double? Median(string binary, string arguments, ref string note)
    {
        var psi = new ProcessStartInfo(binary, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        foreach (var line in output.Split('\n'))
        {
            if (!line.TrimStart().StartsWith('{')) continue;
            using var doc = JsonDocument.Parse(line);
            var samples = doc.RootElement.GetProperty("samples_ts").EnumerateArray().Select(e => e.GetDouble()).Order().ToArray();
            return samples[samples.Length / 2];
        }
        note += $" — failed (exit {p.ExitCode}): {stderr.Result.Split('\n').LastOrDefault(l => l.Length > 0)}";
        return null;
    }

    public static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
}
