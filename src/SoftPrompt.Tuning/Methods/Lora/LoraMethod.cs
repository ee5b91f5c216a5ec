using System.Text.RegularExpressions;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Methods.Lora;

/// <summary>
/// LoRA as plan deltas: for every targeted linear layer, lora_A [r, in] (Kaiming-uniform with
/// a = √5, PEFT's init) and lora_B [out, r] (zeros), so training starts from the frozen model.
/// Parameters are named by the layer's module path, "&lt;path&gt;.lora_A.weight", as PEFT keys them.
/// </summary>
public sealed class LoraMethod : TuningMethod
{
    readonly List<(LinearLayerInfo Layer, Tensor A, Tensor B)> _adapters = [];

    public LoraConfig Config { get; }
    public IReadOnlyList<(LinearLayerInfo Layer, Tensor A, Tensor B)> Adapters => _adapters;

    public override MethodDefinition Definition => LoraDefinition.Instance;

    public LoraMethod(LoraConfig config, IReadOnlyList<LinearLayerInfo> targets, Rng rng)
    {
        if (config.R <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"LoRA rank r must be positive, got {config.R}.");
        if (config.LoraDropout < 0f || config.LoraDropout >= 1f) throw new ArgumentOutOfRangeException(nameof(config), $"lora_dropout must be in [0, 1), got {config.LoraDropout}.");
        if (targets.Count == 0) throw new ArgumentException("LoRA: no target layers.");
        Config = config;
        StochasticRng = rng;
        foreach (var layer in targets)
        {
            var a = RegisterPath(layer.Name + ".lora_A.weight", Init.KaimingUniform(NewParameter(config.R, layer.InFeatures), rng, a: Math.Sqrt(5)));
            var b = RegisterPath(layer.Name + ".lora_B.weight", NewParameter(layer.OutFeatures, config.R));
            _adapters.Add((layer, a, b));
        }
        RequiresGrad();
    }

    public static LoraMethod Create(LoraConfig config, ICausalLanguageModel model, Rng rng) => new(config, Targets(config, model), rng);

    /// <summary>The model's linear layers the config targets; an error listing the layer names when none matches.</summary>
    public static IReadOnlyList<LinearLayerInfo> Targets(LoraConfig config, ICausalLanguageModel model)
    {
        var names = config.TargetModules ?? (config.TargetRegex is null ? LoraConfig.DefaultTargets(model.Config.ModelType) : []);
        var regex = config.TargetRegex is null ? null : new Regex("^(?:" + config.TargetRegex + ")$", RegexOptions.CultureInvariant);
        var found = model.LinearLayers.Where(l => (regex?.IsMatch(l.Name) ?? false) || names.Any(n => l.Name == n || l.Name.EndsWith("." + n, StringComparison.Ordinal))).ToList();
        if (found.Count == 0)
        {
            string kinds = string.Join(", ", model.LinearLayers.Select(l => LinearLayerInfo.Kind(l.Name)).Distinct());
            throw new ArgumentException($"LoRA: target modules [{string.Join(", ", names)}]{(regex is null ? "" : $" / regex '{config.TargetRegex}'")} match no linear layer of this {model.Config.ModelType} model (its layers: {kinds}).");
        }
        return found;
    }

    public override MethodOutput Compute() =>
        new(null, null, [.. _adapters.Select(x => new LowRankDelta(x.Layer.Name, x.A, x.B, Config.Scale, Config.LoraDropout))]);

    public override void CheckFits(ICausalLanguageModel model)
    {
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        foreach (var (layer, a, b) in _adapters)
        {
            if (!layers.TryGetValue(layer.Name, out var m))
                throw new ArgumentException($"LoRA: '{layer.Name}' is not a linear layer of this {model.Config.ModelType} model.");
            if (a.Shape[1] != m.InFeatures || b.Shape[0] != m.OutFeatures)
                throw new ShapeMismatchException($"LoRA: '{layer.Name}' has lora_A {Tensor.Format(a.Shape)} and lora_B {Tensor.Format(b.Shape)}; the layer is {m.InFeatures} → {m.OutFeatures}.");
        }
    }
}
