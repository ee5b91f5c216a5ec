using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>What a pretraining checkpoint records besides tensors: enough to rebuild the run and continue it exactly.</summary>
public sealed record PretrainState(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("config")] MinGptConfig Config,
    [property: JsonPropertyName("options")] PretrainOptions Options,
    [property: JsonPropertyName("tasks")] string[] Tasks,
    [property: JsonPropertyName("sampler_rng")] ulong[] SamplerRng,
    [property: JsonPropertyName("dropout_rng")] ulong[] DropoutRng);

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

    public static void Save(string dir, MinGptPretrainer run)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, ModelFile), tmp => SafetensorsWriter.Write(tmp, run.Model.NamedParameters()));
        var opt = run.Optimizer.StateDict();
        var meta = opt.Scalars.ToDictionary(kv => kv.Key, kv => kv.Value.ToString("R", CultureInfo.InvariantCulture));
        AtomicFile.Write(Path.Combine(dir, OptimizerFile), tmp => SafetensorsWriter.Write(tmp,
            opt.Arrays.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, Tensor.FromArray(kv.Value, kv.Value.Length))), meta));
        var state = new PretrainState(run.Step, run.Model.Config, run.Options, [.. run.Sampler.Tasks.Select(PetrovTasks.Name)],
            run.Sampler.GetState(), run.Model.DropoutRng.GetState());
        AtomicFile.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Rebuilds the run a checkpoint was saved from, at the step it was saved; errors name the file.</summary>
    public static MinGptPretrainer Resume(string dir)
    {
        string statePath = Path.Combine(dir, StateFile);
        PretrainState state;
        try { state = JsonSerializer.Deserialize<PretrainState>(File.ReadAllText(statePath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdapterFormatException($"{statePath}: not a pretraining state ({e.Message})."); }
        var run = new MinGptPretrainer(state.Config, [.. state.Tasks.Select(PetrovTasks.Parse)], state.Options);
        using (var f = SafetensorsFile.Open(Path.Combine(dir, ModelFile)))
        {
            foreach (var (name, p) in run.Model.NamedParameters())
            {
                if (!f.Entries.TryGetValue(name, out var e) || !e.Shape.SequenceEqual(p.Shape.ToArray()))
                    throw new AdapterFormatException($"{f.Path}: parameter '{name}' {Tensor.Format(p.Shape)} is missing or has another shape.");
                f.ReadFloat32(name, p.Span);
            }
        }
        using (var f = SafetensorsFile.Open(Path.Combine(dir, OptimizerFile)))
        {
            var opt = new OptimizerState();
            foreach (var (k, v) in f.Metadata) if (k != "format") opt.Scalars[k] = double.Parse(v, CultureInfo.InvariantCulture);
            foreach (var name in f.Entries.Keys)
            {
                var data = new float[f.Entries[name].ElementCount];
                f.ReadFloat32(name, data);
                opt.Arrays[name] = data;
            }
            try { run.Optimizer.LoadStateDict(opt); }
            catch (InvalidOperationException e) { throw new AdapterFormatException($"{f.Path}: {e.Message}"); }
        }
        run.Sampler.SetState(state.SamplerRng);
        run.Model.DropoutRng.SetState(state.DropoutRng);
        run.Step = state.Step;
        return run;
    }
}
