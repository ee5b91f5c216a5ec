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
        string dir = SoftPrompt.Tests.Shared.RandomGpt2Checkpoint.Write(RepoRoot, Path.Combine(Path.GetTempPath(), $"softprompt-cli-gpt2-{Environment.ProcessId}"));
        return dir;
    });

    /// <summary>A checkpoint directory: random GPT-2 weights (vocabulary 50257) with GPT-2's tokenizer.json.</summary>
    public static string Gpt2Random => _gpt2Random.Value;
}
