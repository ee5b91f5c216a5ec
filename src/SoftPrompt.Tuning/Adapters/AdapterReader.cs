using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// An adapter directory open for reading, as a method's definition sees it (<see cref="Methods.MethodDefinition.Load"/>):
/// adapter_config.json's fields, the tensors of adapter_model.safetensors, softprompt.json's saved method settings, the
/// model it is loaded for. Every error names the file and the field or tensor.
/// </summary>
public sealed class AdapterReader(JsonFields config, SafetensorsFile weights, JsonFields? extras, ICausalLanguageModel model, Rng rng)
{
    /// <summary>Where SoftPrompt keeps what PEFT's layout drops (the P-tuning encoder, the prefix reparametrisation, a head).</summary>
    public const string Own = "softprompt.";

    public JsonFields Config => config;
    public SafetensorsFile Weights => weights;
    public ICausalLanguageModel Model => model;
    public Rng Rng => rng;

    /// <summary>adapter_config.json's peft_type.</summary>
    public string PeftType { get; } = config.String("peft_type");

    /// <summary>softprompt.json's "settings" (the method's own config record as saved), or null.</summary>
    public JsonFields? Settings => extras?.OptionalObject("settings");

    /// <summary>Values the weights file holds, all tensors together: no method read from it can need more parameters.</summary>
    public long StoredValues { get; } = weights.Entries.Values.Sum(e => e.ElementCount);

    /// <summary>
    /// A size field of adapter_config.json, checked before anything that size is allocated: a method needing
    /// value × perUnit parameters cannot come from a file holding fewer values (a corrupted count fails here, not in an allocation).
    /// </summary>
    public int SizeField(string key, long perUnit, int? fallback = null)
    {
        int value = config.Int(key, fallback);
        if (value == 0 || (double)value * perUnit > StoredValues)
            throw config.Bad(key, $"a positive size that fits the {StoredValues:N0} values in {System.IO.Path.GetFileName(weights.Path)}");
        return value;
    }

    public bool HasTensorsUnder(string prefix) => weights.Entries.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));

    public IEnumerable<string> TensorNames => weights.Entries.Keys;

    /// <summary>The named tensor, checked against shape (when given), as a trainable tensor.</summary>
    public Tensor Read(string key, params int[] shape)
    {
        if (!weights.Entries.TryGetValue(key, out var e)) throw Error($"tensor '{key}' is missing.");
        if (shape.Length > 0 && !e.Shape.SequenceEqual(shape))
            throw Error($"tensor '{key}' is {Tensor.Format(e.Shape)}; this model needs {Tensor.Format(shape)}.");
        var t = weights.LoadTensor(key);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Copies the tensors under prefix into the module's parameters, every one required and shape-checked.</summary>
    public void LoadInto(Module module, string prefix)
    {
        foreach (var (name, p) in module.NamedParameters())
            Read(prefix + name, [.. p.Shape]).Span.CopyTo(p.Span);
    }

    /// <summary>An error about the weights file.</summary>
    public AdapterFormatException Error(string what) => new($"{weights.Path}: {what}");

    /// <summary>An error about adapter_config.json.</summary>
    public AdapterFormatException ConfigError(string what) => new($"{config.Path}: {what}");

}
