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
/// trainer_state.json, written last, as one set (<see cref="CheckpointFolder"/>).
/// </summary>
public static class TrainingCheckpoint
{
    const string MethodFile = "method.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "trainer_state.json";

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, StateFile));

    public static void Save(string dir, TuningMethod method, Optimizer optimizer, TrainerState state) => CheckpointFolder.Write(dir, folder =>
    {
        StateFiles.SaveParameters(Path.Combine(folder, MethodFile), method);
        StateFiles.SaveOptimizer(Path.Combine(folder, OptimizerFile), optimizer);
        AtomicFile.WriteAllText(Path.Combine(folder, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    });

    /// <summary>See <see cref="CheckpointFolder.Recover"/>: called by the run that resumes (not by readers).</summary>
    public static void Recover(string dir) => CheckpointFolder.Recover(dir, StateFile);

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
