using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Methods.Lora;

namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning through the same plan as every other method: a dense delta ΔW [out, in] per
/// linear layer ("&lt;path&gt;.delta_weight", zeros at the start), so y = x(W + ΔW)ᵀ + b and the
/// frozen weights themselves are never written. The gradient of ΔW is the gradient of W; weight decay
/// reaches W + ΔW through the optimizer's decay offsets (<see cref="WeightDecayOffsets"/>).
/// </summary>
public sealed class FullFineTuningMethod : TuningMethod
{
    readonly List<(LinearLayerInfo Layer, Tensor Delta)> _deltas = [];
    readonly ICausalLanguageModel? _model;

    public FullFineTuningConfig Config { get; }
    public IReadOnlyList<(LinearLayerInfo Layer, Tensor Delta)> Deltas => _deltas;

    public override MethodKind Kind => MethodKind.Full;
    public override string PeftType => "SOFTPROMPT_FULL";

    /// <param name="model">The frozen model whose W the decay toward zero needs (none: only DecayTowardPretrained, or no decay, can train).</param>
    public FullFineTuningMethod(FullFineTuningConfig config, IReadOnlyList<LinearLayerInfo> layers, ICausalLanguageModel? model = null)
    {
        if (layers.Count == 0) throw new ArgumentException("Full fine-tuning: no linear layers to train.");
        Config = config;
        _model = model;
        foreach (var layer in layers) _deltas.Add((layer, RegisterPath(layer.Name + ".delta_weight", NewParameter(layer.OutFeatures, layer.InFeatures))));
        RequiresGrad();
    }

    public static FullFineTuningMethod Create(FullFineTuningConfig config, ICausalLanguageModel model) =>
        new(config, config.TargetModules is null ? model.LinearLayers : LoraMethod.Targets(new LoraConfig(TargetModules: config.TargetModules), model), model);

    /// <summary>Each ΔW's frozen W (a float32 copy, [out, in]), so that decay shrinks W + ΔW; none when decaying toward the pretrained weights.</summary>
    public override IReadOnlyDictionary<Tensor, Tensor>? WeightDecayOffsets()
    {
        if (Config.DecayTowardPretrained) return null;
        if (_model is null) throw new InvalidOperationException("Full fine-tuning: decaying W + ΔW toward zero needs the model's W; build the method with the model.");
        return _deltas.ToDictionary(d => d.Delta, d => _model.LinearWeight(d.Layer.Name));   // Tensor: reference equality
    }

    public override MethodOutput Compute() => new(null, null, [.. _deltas.Select(d => LowRankDelta.Dense(d.Layer.Name, d.Delta))]);

    public override void CheckFits(ICausalLanguageModel model)
    {
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        foreach (var (layer, delta) in _deltas)
            if (!layers.TryGetValue(layer.Name, out var m) || delta.Shape[0] != m.OutFeatures || delta.Shape[1] != m.InFeatures)
                throw new ShapeMismatchException($"Full fine-tuning: '{layer.Name}' has ΔW {Tensor.Format(delta.Shape)}, which does not fit this {model.Config.ModelType} model.");
    }
}
