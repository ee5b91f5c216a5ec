using System.Diagnostics;
using System.Text.Json;

namespace SoftPrompt.Bench.Step;

/// <summary>Runs the PyTorch reference (bench/reference/run_reference.sh) in a child process.</summary>
public static class Reference
{
    public sealed record StepResult(double StepSeconds, double PeakRssMib, string? Note);

    /// <summary>The reference's median step time and peak RSS for a mode ("default" or "tuned"); null with a note on stderr when it cannot run.</summary>
    public static StepResult? RunStep(string mode, int steps)
    {
        string file = Path.Combine(Path.GetTempPath(), $"softprompt-step-ref-{mode}-{Environment.ProcessId}.json");
        Console.Error.WriteLine($"running the PyTorch reference ({mode}) …");
        string? note = Run(mode, $"--steps {steps} --json {file}", out string stderr);
        if (note is not null)
        {
            Console.Error.WriteLine($"note: PyTorch reference ({mode}) not measured: {note}");
            return null;
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        File.Delete(file);
        var r = doc.RootElement;
        return new StepResult(r.GetProperty("step_seconds_median").GetDouble(), r.GetProperty("peak_rss_mib").GetDouble(),
            stderr.Split('\n').FirstOrDefault(l => l.StartsWith("note:")));
    }

    /// <summary>Runs the reference script; returns null on success, else why it could not run.</summary>
    public static string? Run(string mode, string arguments, out string stderr)
    {
        stderr = "";
        string script = Path.Combine(RepoRoot(), "bench", "reference", "run_reference.sh");
        if (!File.Exists(script)) return $"{script} is missing";
        if (!File.Exists("/usr/bin/python3")) return "/usr/bin/python3 is missing (install Debian's python3-torch)";
        var psi = new ProcessStartInfo("bash", $"{script} {mode} {arguments}") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        stderr = err.Result;
        if (p.ExitCode != 0)
        {
            string last = stderr.Trim().Split('\n').LastOrDefault() ?? "";
            return last.Contains("No module named 'torch'") ? "PyTorch is not installed (apt-get install python3-torch)" : $"exit code {p.ExitCode}: {last}";
        }
        return null;
    }

    /// <summary>The repository root: the nearest parent holding SoftPrompt.sln.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "SoftPrompt.sln"))) return d.FullName;
        throw new InvalidOperationException("Run the benchmark from inside the SoftPrompt repository (SoftPrompt.sln not found).");
    }
}
