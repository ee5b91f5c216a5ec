using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using Prefix = SoftPrompt.Models.Plans.AttentionInputPrefix;

namespace SoftPrompt.Tuning.Methods.AttentionInputPrefix;

/// <summary>
/// The prefix of Petrov, Torr and Bibi's experiments: P trainable vectors per layer ("prefix.{l}", [P, D],
/// init N(0, 1)) that replace the attention input at the P slot positions of every layer, so the frozen
/// W_K and W_V make the prefix's keys and values. The template reserves the slot ({soft:P}, first).
/// </summary>
public sealed class AttentionInputPrefixMethod : TuningMethod
{
    readonly Tensor[] _layers;

    public int Length { get; }

    public override MethodDefinition Definition => AttentionInputPrefixDefinition.Instance;

    /// <summary>The template gives the prefix its P positions like virtual tokens.</summary>
    public override int VirtualTokens => Length;

    public AttentionInputPrefixMethod(int length, int layers, int hidden, Rng rng)
    {
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), $"prefix length must be positive, got {length}.");
        Length = length;
        _layers = [.. Enumerable.Range(0, layers).Select(l => RegisterPath($"prefix.{l}", Init.Normal(NewParameter(length, hidden), rng)))];
        RequiresGrad();
    }

    public static AttentionInputPrefixMethod Create(int length, ICausalLanguageModel model, Rng rng) => new(length, model.Config.Layers, model.Config.HiddenSize, rng);

    public IReadOnlyList<Tensor> Layers => _layers;

    public override MethodOutput Compute() => new(null, null, []) { AttentionInputPrefix = new Prefix(_layers) };

    public override void CheckFits(ICausalLanguageModel model)
    {
        if (_layers.Length != model.Config.Layers || _layers[0].Shape[1] != model.Config.HiddenSize)
            throw new ShapeMismatchException($"Attention-input prefix: {_layers.Length} layers of width {_layers[0].Shape[1]}; the model has {model.Config.Layers} of {model.Config.HiddenSize}.");
    }
}
