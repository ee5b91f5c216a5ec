using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tuning.Methods.PrefixTuning;

namespace SoftPrompt.Tuning.Methods.DeepPrompt;

/// <summary>
/// Deep prompts: "embedding.weight" [N, L·2·W] is the prefix itself (PEFT's layout), split per layer
/// each forward. "classifier" Linear(D, NumLabels) when the config asks for a head.
/// </summary>
public sealed class DeepPromptMethod : TuningMethod, IClassificationHead
{
    readonly int _layers, _width;

    public DeepPromptConfig Config { get; }
    public Tensor Prefix { get; }
    public Linear? Classifier { get; }

    public override MethodDefinition Definition => DeepPromptDefinition.Instance;

    public DeepPromptMethod(DeepPromptConfig config, int layers, int width, int hidden, Rng rng, Tensor? prefix = null)
    {
        if (config.NumVirtualTokens <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"num_virtual_tokens must be positive, got {config.NumVirtualTokens}.");
        Config = config; _layers = layers; _width = width;
        prefix ??= Init.Normal(NewParameter(config.NumVirtualTokens, layers * 2 * width), rng);
        if (prefix.Rank != 2 || prefix.Shape[0] != config.NumVirtualTokens || prefix.Shape[1] != layers * 2 * width)
            throw new ShapeMismatchException($"Deep prompt: prefix {Tensor.Format(prefix.Shape)} is not [{config.NumVirtualTokens}, {layers}·2·{width}].");
        Prefix = RegisterPath("embedding.weight", prefix);
        if (config.NumLabels > 0) Classifier = RegisterModule("classifier", new Linear(hidden, config.NumLabels, rng));
        RequiresGrad();
    }

    public static DeepPromptMethod Create(DeepPromptConfig config, ICausalLanguageModel model, Rng rng, Func<string, int[]>? encode = null)
    {
        int layers = model.Config.Layers, width = PrefixLayout.Width(model);
        Tensor? prefix = config.Init switch
        {
            PrefixInit.Zero => Tensor.ZerosOnHeap(config.NumVirtualTokens, layers * 2 * width),
            PrefixInit.Word => PrefixLayout.WordActivations(model,
                (encode ?? throw new ArgumentException("Deep prompt: init Word needs a tokenizer."))(config.InitText is { Length: > 0 } t ? t : throw new ArgumentException("Deep prompt: init Word needs InitText.")),
                config.NumVirtualTokens),
            _ => null,
        };
        return new DeepPromptMethod(config, layers, width, model.Config.HiddenSize, rng, prefix);
    }

    public override MethodOutput Compute() => new(null, PrefixLayout.Split(Prefix, _layers, _width), []);

    public override void CheckFits(ICausalLanguageModel model)
    {
        if (model.Config.Layers != _layers || PrefixLayout.Width(model) != _width)
            throw new ShapeMismatchException($"Deep prompt: the prefix has {_layers} layers of width {_width}; the model has {model.Config.Layers} layers of key/value width {PrefixLayout.Width(model)}.");
        if (Classifier is not null && Classifier.InFeatures != model.Config.HiddenSize)
            throw new ShapeMismatchException($"Deep prompt: the classification head takes {Classifier.InFeatures} features; the model's hidden size is {model.Config.HiddenSize}.");
    }
}
