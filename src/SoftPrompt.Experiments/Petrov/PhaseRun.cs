using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// An adaptation phase's run directory and what makes a rerun the same run: phase.json records the setup,
/// the phase, its steps, learning rate and initialisation seed, and the pretrained model's fingerprint.
/// A rerun with the same identity continues from the trainer's checkpoint there (the authors' long phases
/// take many hours on this machine, more than one session); any other run empties the directory first.
/// sessions.jsonl there gets a line per run that trains — a process that resumes from the checkpoint, whether a new
/// session's or the same session's after a pause (when, from which step, which build) — so a phase that one build
/// began and a newer one finished says so; result.json holds the phase's last evaluation on the test items, so that
/// <c>--status</c> gives a finished phase's figure without evaluating it again.
/// </summary>
public static class PhaseRun
{
    const string IdentityFile = "phase.json", SessionsFile = "sessions.jsonl", ResultFile = "result.json";

    /// <summary>This build: the assembly's informational version (version + git commit, as the SDK stamps it).</summary>
    public static string Build { get; } = typeof(PhaseRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };   // "1.0.0+abc…", not "\u002B"

    /// <summary>Appends this run (UTC time, the step it starts from, <see cref="Build"/>) to the folder's sessions.jsonl; returns the build of the run before, if any.</summary>
    public static string? RecordSession(string directory, long fromStep)
    {
        string path = Path.Combine(directory, SessionsFile);
        string? previous = null;
        if (File.Exists(path) && File.ReadLines(path).LastOrDefault(l => l.Length > 0) is { } last)
            try { previous = JsonDocument.Parse(last).RootElement.GetProperty("build").GetString(); }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { previous = null; }   // a line cut short: no build to compare
        File.AppendAllText(path, JsonSerializer.Serialize(new { started = DateTime.UtcNow.ToString("O"), from_step = fromStep, build = Build }, Readable) + "\n");
        return previous;
    }

    /// <summary>The pretrained model's fingerprint: SHA-256 of its model.safetensors (first 16 hex digits).</summary>
    public static string Fingerprint(string modelDirectory)
    {
        using var stream = File.OpenRead(Path.Combine(modelDirectory, "model.safetensors"));
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }

    public static string Identity(int setup, PetrovPhase phase, ulong initSeed, int steps, double learningRate, string modelFingerprint) =>
        JsonSerializer.Serialize(new
        {
            setup, phase = phase.Name, kind = phase.Kind.ToString(), task = PetrovTasks.Name(phase.Task), steps, learning_rate = learningRate,
            prefix_length = phase.PrefixLength, lora_rank = phase.LoraRank, init_seed = initSeed, model = modelFingerprint,
        }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The run a phase folder holds (phase.json's steps, learning rate and initialisation seed), or null when it holds none; errors name the file.</summary>
    public static (int Steps, double LearningRate, ulong InitSeed)? Recorded(string directory)
    {
        string path = Path.Combine(directory, IdentityFile);
        if (!File.Exists(path)) return null;
        try
        {
            var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
            return (root.GetProperty("steps").GetInt32(), root.GetProperty("learning_rate").GetDouble(), root.GetProperty("init_seed").GetUInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new AdapterFormatException($"{path}: not a phase identity ({e.Message}).");
        }
    }

    /// <summary>
    /// How many runs (processes) have trained in the folder: the lines of its sessions.jsonl that start below <paramref name="steps"/>
    /// (builds before 2026-12-02 also logged a rerun that only evaluated the finished phase, from its last step).
    /// </summary>
    public static int Sessions(string directory, long steps)
    {
        string path = Path.Combine(directory, SessionsFile);
        if (!File.Exists(path)) return 0;
        int count = 0;
        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0))
            try { if (JsonDocument.Parse(line).RootElement.GetProperty("from_step").GetInt64() < steps) count++; }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException) { count++; }   // a line cut short: a session all the same
        return count;
    }

    /// <summary>A phase's evaluation as result.json records it: the step it was measured at, on how many test items, exact match (%) on each task evaluated,
    /// the training seconds, when (UTC) and by which build.</summary>
    public sealed record Result(long Step, int TestItems, IReadOnlyDictionary<string, double> ExactMatch, double Seconds, string Measured, string Build);

    /// <summary>result.json's form, both ways: snake_case, indented, every field required when read.</summary>
    static readonly JsonSerializerOptions ResultJson = new(Readable)
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true,
    };

    /// <summary>Records the phase's evaluation (atomically: an interrupted write leaves the previous one).</summary>
    public static void WriteResult(string directory, long step, int testItems, IReadOnlyDictionary<string, double> exactMatch, double seconds) =>
        AtomicFile.WriteAllText(Path.Combine(directory, ResultFile),
            JsonSerializer.Serialize(new Result(step, testItems, exactMatch, seconds, DateTime.UtcNow.ToString("O"), Build), ResultJson));

    /// <summary>The phase's recorded evaluation, or null when there is none; errors name the file.</summary>
    public static Result? ReadResult(string directory)
    {
        string path = Path.Combine(directory, ResultFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<Result>(File.ReadAllText(path), ResultJson) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new AdapterFormatException($"{path}: not a phase result ({e.Message})."); }
    }

    /// <summary>Makes <paramref name="directory"/> ready for the run <paramref name="identity"/> names; returns the step its checkpoint holds (0: a fresh start).</summary>
    public static long Prepare(string directory, string identity)
    {
        string path = Path.Combine(directory, IdentityFile), checkpoint = Path.Combine(directory, "checkpoint");
        bool same = File.Exists(path) && File.ReadAllText(path) == identity;
        if (!same && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        if (!same) AtomicFile.WriteAllText(path, identity);
        return same && TrainingCheckpoint.Exists(checkpoint) ? TrainingCheckpoint.Step(checkpoint) : 0;
    }
}
