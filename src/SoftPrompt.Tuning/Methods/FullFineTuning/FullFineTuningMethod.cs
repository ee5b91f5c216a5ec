using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Methods.Lora;

namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning through the same plan as every other method: a dense delta ΔW [out, in] per
/// linear layer ("&lt;path&gt;.delta_weight", zeros at the start), so y = x(W + ΔW)ᵀ + b, and a delta of
/// each of the model's other parameters ("transformer.h.0.ln_1.delta_bias" for "transformer.h.0.ln_1.bias"),
/// so the frozen weights themselves are never written. The gradient of a delta is the gradient of its
/// parameter; weight decay reaches W + ΔW through the optimizer's decay offsets (<see cref="WeightDecayOffsets"/>).
/// </summary>
public sealed class FullFineTuningMethod : TuningMethod
{
    readonly List<(LinearLayerInfo Layer, Tensor Delta)> _deltas = [];
    readonly List<(ParameterInfo Parameter, Tensor Delta)> _parameterDeltas = [];
    readonly Dictionary<string, Tensor> _parameterDeltasByName = [];
    readonly ICausalLanguageModel? _model;

    public FullFineTuningConfig Config { get; }
    public IReadOnlyList<(LinearLayerInfo Layer, Tensor Delta)> Deltas => _deltas;

    /// <summary>The deltas of the model's other parameters (embeddings, norms, biases, head); none when TargetModules names linear layers.</summary>
    public IReadOnlyList<(ParameterInfo Parameter, Tensor Delta)> ParameterDeltas => _parameterDeltas;

    public override MethodDefinition Definition => FullFineTuningDefinition.Instance;

    /// <param name="parameters">The other parameters to train (embeddings, norms, biases, head), from the model's <see cref="ICausalLanguageModel.OtherParameters"/>.</param>
    /// <param name="model">The frozen model whose W the decay toward zero needs (none: only DecayTowardPretrained, or no decay, can train).</param>
    public FullFineTuningMethod(FullFineTuningConfig config, IReadOnlyList<LinearLayerInfo> layers, ICausalLanguageModel? model = null,
        IReadOnlyList<ParameterInfo>? parameters = null)
    {
        if (layers.Count == 0) throw new ArgumentException("Full fine-tuning: no linear layers to train.");
        Config = config;
        _model = model;
        foreach (var layer in layers) _deltas.Add((layer, RegisterPath(layer.Name + ".delta_weight", NewParameter(layer.OutFeatures, layer.InFeatures))));
        foreach (var p in parameters ?? [])
        {
            var delta = RegisterPath(DeltaName(p.Name), NewParameter([.. p.Shape]));
            _parameterDeltas.Add((p, delta));
            _parameterDeltasByName[p.Name] = delta;
        }
        RequiresGrad();
    }

    public static FullFineTuningMethod Create(FullFineTuningConfig config, ICausalLanguageModel model) =>
        new(config, config.TargetModules is null ? model.LinearLayers : LoraMethod.Targets(new LoraConfig(TargetModules: config.TargetModules), model), model,
            config.TargetModules is null ? model.OtherParameters : []);

    /// <summary>A parameter's delta name: its last part prefixed "delta_" ("transformer.wte.weight" → "transformer.wte.delta_weight").</summary>
    public static string DeltaName(string parameter)
    {
        int dot = parameter.LastIndexOf('.');
        return parameter[..(dot + 1)] + "delta_" + parameter[(dot + 1)..];
    }

    /// <summary>
    /// Each matrix delta's frozen value (a float32 copy: W as [out, in], an embedding table, the head), so that decay shrinks
    /// W + ΔW; none when decaying toward the pretrained weights. The exempt ones (<see cref="ExemptFromWeightDecay"/>) have none.
    /// </summary>
    public override IReadOnlyDictionary<Tensor, Tensor>? WeightDecayOffsets()
    {
        if (Config.DecayTowardPretrained) return null;
        if (_model is null) throw new InvalidOperationException("Full fine-tuning: decaying W + ΔW toward zero needs the model's W; build the method with the model.");
        var offsets = _deltas.ToDictionary(d => d.Delta, d => _model.LinearWeight(d.Layer.Name));   // Tensor: reference equality
        var exempt = ExemptFromWeightDecay();
        foreach (var (p, delta) in _parameterDeltas)
            if (!exempt.Contains(delta)) offsets[delta] = _model.OtherParameter(p.Name);
        return offsets;
    }

    /// <summary>Biases and norm weights, as a Hugging Face Trainer exempts them; the embedding tables too unless <see cref="FullFineTuningConfig.DecayEmbeddings"/> (minGPT's rule).</summary>
    public override IReadOnlySet<Tensor> ExemptFromWeightDecay() => _parameterDeltas
        .Where(d => d.Parameter.Kind is ParameterKind.Norm or ParameterKind.Bias || (d.Parameter.Kind == ParameterKind.Embedding && !Config.DecayEmbeddings))
        .Select(d => d.Delta).ToHashSet();

    public override MethodOutput Compute() => new(null, null, [.. _deltas.Select(d => LowRankDelta.Dense(d.Layer.Name, d.Delta))])
    {
        ParameterDeltas = _parameterDeltas.Count == 0 ? null : _parameterDeltasByName,
    };

    public override void CheckFits(ICausalLanguageModel model)
    {
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        foreach (var (layer, delta) in _deltas)
            if (!layers.TryGetValue(layer.Name, out var m) || delta.Shape[0] != m.OutFeatures || delta.Shape[1] != m.InFeatures)
                throw new ShapeMismatchException($"Full fine-tuning: '{layer.Name}' has ΔW {Tensor.Format(delta.Shape)}, which does not fit this {model.Config.ModelType} model.");
        var others = model.OtherParameters.ToDictionary(p => p.Name);
        foreach (var (p, delta) in _parameterDeltas)
            if (!others.TryGetValue(p.Name, out var m) || !m.Shape.SequenceEqual(delta.Shape.ToArray()))
                throw new ShapeMismatchException($"Full fine-tuning: the delta of '{p.Name}' is {Tensor.Format(delta.Shape)}, which does not fit this {model.Config.ModelType} model.");
    }
}
