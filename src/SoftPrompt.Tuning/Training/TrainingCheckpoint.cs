using System.Text.Json;
using System.Text.Json.Serialization;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Training;

/// <summary>The trainer's own state at a checkpoint (besides parameters and optimizer moments); ElapsedSeconds is the training time up to it.</summary>
public sealed record TrainerState(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("sampler")] BatchSamplerState Sampler,
    [property: JsonPropertyName("method_rng")] ulong[]? MethodRng,
    [property: JsonPropertyName("best_metric")] double? BestMetric,
    [property: JsonPropertyName("best_step")] long BestStep,
    [property: JsonPropertyName("evals_without_improvement")] int EvalsWithoutImprovement,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("model_dropout_rng")] ulong[]? ModelDropoutRng = null,
    [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds = 0);

/// <summary>
/// A resumable training checkpoint: method.safetensors (the method's parameters by name),
/// optimizer.safetensors (moments as tensors, step counts and learning rates as metadata) and
/// trainer_state.json. The three are one set: a new checkpoint is written whole into DIR.tmp (its
/// trainer_state.json last), then takes the place of DIR (the previous one passes through DIR.old), so a
/// process killed at any moment leaves either the previous checkpoint or the new one, never the parameters
/// of one with the step of another; <see cref="Recover"/> puts back the one a kill left aside.
/// </summary>
public static class TrainingCheckpoint
{
    const string MethodFile = "method.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "trainer_state.json";

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, StateFile));

    public static void Save(string dir, TuningMethod method, Optimizer optimizer, TrainerState state)
    {
        var (home, fresh, previous) = Paths(dir);
        if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
        Directory.CreateDirectory(fresh);
        StateFiles.SaveParameters(Path.Combine(fresh, MethodFile), method);
        StateFiles.SaveOptimizer(Path.Combine(fresh, OptimizerFile), optimizer);
        AtomicFile.WriteAllText(Path.Combine(fresh, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        if (Directory.Exists(home)) Directory.Move(home, previous);
        Directory.Move(fresh, home);
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
    }

    /// <summary>
    /// After a kill in the middle of <see cref="Save"/>: when DIR holds no complete checkpoint, the previous one set
    /// aside in DIR.old comes back; a half-written DIR.tmp is dropped. Called by the run that resumes (not by readers).
    /// </summary>
    public static void Recover(string dir)
    {
        var (home, fresh, previous) = Paths(dir);
        if (!File.Exists(Path.Combine(home, StateFile)) && File.Exists(Path.Combine(previous, StateFile)))
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
            Directory.Move(previous, home);
        }
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
    }

    static (string Home, string Fresh, string Previous) Paths(string dir)
    {
        string home = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        return (home, home + ".tmp", home + ".old");
    }

    /// <summary>The step a complete checkpoint was saved at; errors name the file.</summary>
    public static long Step(string dir) => State(dir).Step;

    /// <summary>What a complete checkpoint records besides its tensors (step, sampler, training seconds); errors name the file.</summary>
    public static TrainerState State(string dir) => ReadState(Path.Combine(dir, StateFile));

    static TrainerState ReadState(string statePath)
    {
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdapterFormatException($"{statePath}: not a trainer state ({e.Message})."); }
    }

    /// <summary>Restores parameters and optimizer state in place and returns the trainer state; errors name the file.</summary>
    public static TrainerState Load(string dir, TuningMethod method, Optimizer optimizer)
    {
        string statePath = Path.Combine(dir, StateFile);
        var state = ReadState(statePath);
        if (!SameMethod(state.Method, method.Name))
            throw new AdapterFormatException($"{statePath}: the checkpoint is of method {state.Method}, this run trains {method.Name}.");
        StateFiles.LoadParameters(Path.Combine(dir, MethodFile), method);
        StateFiles.LoadOptimizer(Path.Combine(dir, OptimizerFile), optimizer);
        return state;
    }

    /// <summary>
    /// A checkpoint names its method by registry name; those written before the registry used the old enum's names
    /// (Prompt, Prefix, PTuning, Deep, Lora, Full; "Prefix" for attn-prefix too), which still resume.
    /// </summary>
    static bool SameMethod(string saved, string name) =>
        saved == name || saved.Equals(name.Replace("-", ""), StringComparison.OrdinalIgnoreCase) || (saved == "Prefix" && name == "attn-prefix");
}
