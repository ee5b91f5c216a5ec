using System.Diagnostics;
using System.Text.Json;

namespace SoftPrompt.Bench.Generate;

/// <summary>Runs bench/reference/generate_gpt2.py in a child process, PyTorch configured as the step benchmark's "tuned" mode.</summary>
public static class PyTorchGenerate
{
    public sealed record Result(Dictionary<int, double> Prefill, Dictionary<int, double> Generate, Dictionary<int, int[][]> Tokens, double PeakRssMib, string Settings);

    /// <summary>The reference's figures, or null with the reason in <paramref name="note"/>.</summary>
    public static Result? Run(string repoRoot, string modelDir, int[][] prompts, int newTokens, int runs, out string? note)
    {
        note = null;
        string script = Path.Combine(repoRoot, "bench", "reference", "generate_gpt2.py");
        if (!File.Exists("/usr/bin/python3")) { note = "/usr/bin/python3 is missing (install Debian's python3-torch)"; return null; }
        string input = Path.Combine(Path.GetTempPath(), $"softprompt-generate-in-{Environment.ProcessId}.json");
        string output = Path.Combine(Path.GetTempPath(), $"softprompt-generate-out-{Environment.ProcessId}.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { prompts, new_tokens = newTokens, runs }));
        var psi = new ProcessStartInfo("/usr/bin/python3", $"{script} --model {modelDir} --input {input} --json {output} --threads 2")
        { RedirectStandardError = true, RedirectStandardOutput = true };
        // As run_reference.sh's "tuned" mode: a caching allocator, the OpenMP OpenBLAS sharing torch's
        // thread pool, 2 threads. OPENBLAS_CORETYPE is inherited (bench/run unsets it).
        var settings = new List<string> { "2 threads" };
        const string lib = "/usr/lib/x86_64-linux-gnu";
        foreach (var k in new[] { "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "LD_PRELOAD", "LD_LIBRARY_PATH", "MALLOC_CONF" }) psi.Environment.Remove(k);
        psi.Environment["OMP_NUM_THREADS"] = "2";
        if (File.Exists($"{lib}/libtcmalloc_minimal.so.4"))
        {
            psi.Environment["LD_PRELOAD"] = $"{lib}/libtcmalloc_minimal.so.4";
            psi.Environment["TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD"] = "1099511627776";
            settings.Add("tcmalloc");
        }
        if (File.Exists($"{lib}/openblas-openmp/libblas.so.3"))
        {
            psi.Environment["LD_LIBRARY_PATH"] = $"{lib}/openblas-openmp";
            settings.Add("OpenMP OpenBLAS");
        }
        else psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } core) settings.Add($"OPENBLAS_CORETYPE={core} (bench/run unsets it)");
        Console.Error.WriteLine($"running the PyTorch reference ({string.Join(", ", settings)}) …");
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("  pytorch: " + e.Data); };
        p.BeginOutputReadLine();
        p.WaitForExit();
        File.Delete(input);
        if (p.ExitCode != 0)
        {
            string last = err.Result.Trim().Split('\n').LastOrDefault() ?? "";
            note = last.Contains("No module named 'torch'") ? "PyTorch is not installed (apt-get install python3-torch)" : $"reference failed, exit code {p.ExitCode}: {last}";
            return null;
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        File.Delete(output);
        var r = doc.RootElement;
        Dictionary<int, double> Rates(string key) => r.GetProperty(key).EnumerateObject().ToDictionary(x => int.Parse(x.Name), x => x.Value.GetDouble());
        var tokens = r.GetProperty("tokens").EnumerateObject().ToDictionary(x => int.Parse(x.Name),
            x => x.Value.EnumerateArray().Select(row => row.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray());
        return new Result(Rates("prefill"), Rates("generate"), tokens, r.GetProperty("peak_rss_mib").GetDouble(),
            $"PyTorch {r.GetProperty("torch").GetString()}, {string.Join(", ", settings)}");
    }
}
