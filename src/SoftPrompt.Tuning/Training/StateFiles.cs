using System.Globalization;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Training;

/// <summary>
/// The two files every training checkpoint holds: a module's parameters by name, and an optimizer's
/// state (moments as tensors, step counts and learning rates as metadata). Written atomically; read
/// back with every parameter required and shape-checked, errors naming the file.
/// </summary>
public static class StateFiles
{
    public static void SaveParameters(string path, Module module) =>
        AtomicFile.Write(path, tmp => SafetensorsWriter.Write(tmp, module.NamedParameters()));

    public static void LoadParameters(string path, Module module)
    {
        using var f = SafetensorsFile.Open(path);
        foreach (var (name, p) in module.NamedParameters())
        {
            if (!f.Entries.TryGetValue(name, out var e) || !e.Shape.SequenceEqual(p.Shape.ToArray()))
                throw new AdapterFormatException($"{f.Path}: parameter '{name}' {Tensor.Format(p.Shape)} is missing or has another shape; the checkpoint is not of this configuration.");
            f.ReadFloat32(name, p.Span);
        }
    }

    public static void SaveOptimizer(string path, Optimizer optimizer)
    {
        var opt = optimizer.StateDict();
        var meta = opt.Scalars.ToDictionary(kv => kv.Key, kv => kv.Value.ToString("R", CultureInfo.InvariantCulture));
        AtomicFile.Write(path, tmp => SafetensorsWriter.Write(tmp,
            opt.Arrays.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, Tensor.FromArray(kv.Value, kv.Value.Length))), meta));
    }

    public static void LoadOptimizer(string path, Optimizer optimizer)
    {
        using var f = SafetensorsFile.Open(path);
        var opt = new OptimizerState();
        foreach (var (k, v) in f.Metadata) if (k != "format") opt.Scalars[k] = double.Parse(v, CultureInfo.InvariantCulture);
        foreach (var name in f.Entries.Keys)
        {
            var data = new float[f.Entries[name].ElementCount];
            f.ReadFloat32(name, data);
            opt.Arrays[name] = data;
        }
        try { optimizer.LoadStateDict(opt); }
        catch (InvalidOperationException e) { throw new AdapterFormatException($"{f.Path}: {e.Message}"); }
    }
}
