using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// full: PEFT has no full fine-tuning layout, so SoftPrompt's own type SOFTPROMPT_FULL: each linear layer's ΔW as
/// "&lt;module&gt;.delta_weight" and the other parameters' deltas by name ("transformer.ln_f.delta_bias").
/// </summary>
public sealed class FullFineTuningDefinition : MethodDefinition<FullFineTuningMethod>
{
    public static readonly FullFineTuningDefinition Instance = new();

    const string DeltaWeight = ".delta_weight";

    public override string Name => "full";
    public override string PeftType => "SOFTPROMPT_FULL";
    public override string Description => "full fine-tuning, the upper baseline: every parameter as a delta on the frozen one";
    public override double DefaultLearningRate => 0.001;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        FullFineTuningMethod.Create(new(o.TargetModules, DecayEmbeddings: o.DecayEmbeddings), model);

    /// <summary>
    /// The linear layers' ΔW and the other parameters' deltas the file holds, each checked against the model; an adapter
    /// saved before full fine-tuning trained the other parameters holds only the former.
    /// </summary>
    public override TuningMethod Load(AdapterReader a)
    {
        var model = a.Model;
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        var deltaNames = model.OtherParameters.ToDictionary(p => FullFineTuningMethod.DeltaName(p.Name));
        var targets = new List<LinearLayerInfo>();
        var parameters = new List<ParameterInfo>();
        foreach (string key in a.TensorNames.Order(StringComparer.Ordinal))
        {
            string name = key.EndsWith(DeltaWeight, StringComparison.Ordinal) ? key[..^DeltaWeight.Length] : "";
            if (layers.TryGetValue(name, out var layer)) targets.Add(layer);
            else if (deltaNames.TryGetValue(key, out var parameter)) parameters.Add(parameter);
            else throw a.Error($"'{key}' is neither a linear layer's ΔW nor the delta of another parameter of this {model.Config.ModelType} model (e.g. '{model.LinearLayers[0].Name}{DeltaWeight}', '{deltaNames.Keys.First()}').");
        }
        parameters = [.. model.OtherParameters.Where(parameters.Contains)];   // the model's order, as the method registers them when created
        // softprompt.json's settings keep how weight decay acted (absent: the defaults, toward zero, embeddings decayed), for a resumed run.
        var settings = a.Settings;
        var config = new FullFineTuningConfig(parameters.Count > 0 ? null : [.. targets.Select(t => t.Name)],
            settings?.Bool(nameof(FullFineTuningConfig.DecayTowardPretrained), false) ?? false, settings?.Bool(nameof(FullFineTuningConfig.DecayEmbeddings), true) ?? true);
        var m = new FullFineTuningMethod(config, targets, model, parameters);
        foreach (var (layer, delta) in m.Deltas) a.Read(layer.Name + DeltaWeight, layer.OutFeatures, layer.InFeatures).Span.CopyTo(delta.Span);
        foreach (var (parameter, delta) in m.ParameterDeltas) a.Read(FullFineTuningMethod.DeltaName(parameter.Name), [.. parameter.Shape]).Span.CopyTo(delta.Span);
        return m;
    }

    protected override void Save(FullFineTuningMethod f, AdapterWriter a)
    {
        foreach (var (layer, delta) in f.Deltas) a.Add(layer.Name + DeltaWeight, delta);
        foreach (var (parameter, delta) in f.ParameterDeltas) a.Add(FullFineTuningMethod.DeltaName(parameter.Name), delta);
        a.Config["target_modules"] = new JsonArray([.. f.Deltas.Select(d => (JsonNode?)JsonValue.Create(d.Layer.Name))]);
    }

    protected override object Settings(FullFineTuningMethod f) => f.Config;
}
