using System.Text.Json;
using System.Text.Json.Serialization;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;

using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>What a pretraining checkpoint records besides tensors: enough to rebuild the run and continue it exactly.</summary>
public sealed record PretrainState(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("config")] MinGptConfig Config,
    [property: JsonPropertyName("options")] PretrainOptions Options,
    [property: JsonPropertyName("tasks")] string[] Tasks,
    [property: JsonPropertyName("sampler_rng")] ulong[] SamplerRng,
    [property: JsonPropertyName("dropout_rng")] ulong[] DropoutRng,
    [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds = 0);   // absent in checkpoints before 2026-11-30 18:00

/// <summary>
/// A resumable pretraining checkpoint directory: model.safetensors (the <see cref="MinGpt"/>'s
/// parameters under its own names, float32), optimizer.safetensors (AdamW moments; step counts and
/// learning rates as metadata) and pretrain_state.json, written last, so a checkpoint is complete
/// exactly when that file exists. Every file goes through a temporary name.
/// </summary>
public static class PretrainCheckpoint
{
    const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "pretrain_state.json";

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, StateFile));

    public static void Save(string dir, MinGptPretrainer run) => CheckpointFolder.Write(dir, folder =>
    {
        StateFiles.SaveParameters(Path.Combine(folder, ModelFile), run.Model);
        StateFiles.SaveOptimizer(Path.Combine(folder, OptimizerFile), run.Optimizer);
        var state = new PretrainState(run.Step, run.Model.Config, run.Options, [.. run.Sampler.Tasks.Select(PetrovTasks.Name)],
            run.Sampler.GetState(), run.Model.DropoutRng.GetState(), run.ElapsedSeconds);
        AtomicFile.WriteAllText(Path.Combine(folder, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    });

    /// <summary>See <see cref="CheckpointFolder.Recover"/>: called by the run that resumes.</summary>
    public static void Recover(string dir) => CheckpointFolder.Recover(dir, StateFile);

    /// <summary>What a complete checkpoint records besides its tensors (its step, its training seconds); errors name the file.</summary>
    public static PretrainState State(string dir)
    {
        string statePath = Path.Combine(dir, StateFile);
        try { return JsonSerializer.Deserialize<PretrainState>(File.ReadAllText(statePath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdapterFormatException($"{statePath}: not a pretraining state ({e.Message})."); }
    }

    /// <summary>Rebuilds the run a checkpoint was saved from, at the step it was saved; errors name the file.</summary>
    public static MinGptPretrainer Resume(string dir)
    {
        var state = State(dir);
        var run = new MinGptPretrainer(state.Config, [.. state.Tasks.Select(PetrovTasks.Parse)], state.Options);
        StateFiles.LoadParameters(Path.Combine(dir, ModelFile), run.Model);
        StateFiles.LoadOptimizer(Path.Combine(dir, OptimizerFile), run.Optimizer);
        run.Sampler.SetState(state.SamplerRng);
        run.Model.DropoutRng.SetState(state.DropoutRng);
        run.Step = state.Step;
        run.ElapsedSeconds = state.ElapsedSeconds;
        return run;
    }
}
