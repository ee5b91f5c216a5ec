using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods.PrefixTuning;

namespace SoftPrompt.Tuning.Methods.DeepPrompt;

/// <summary>
/// deep: PEFT's PREFIX_TUNING without projection, the prefix itself saved as prompt_embeddings [N, L·2·W], a
/// classification head under "softprompt.classifier.". Also reads a projected prefix saved without its
/// reparametrisation (PEFT's own files), which trains on as a deep prompt.
/// </summary>
public sealed class DeepPromptDefinition : MethodDefinition<DeepPromptMethod>
{
    public static readonly DeepPromptDefinition Instance = new();

    const string Classifier = AdapterReader.Own + "classifier.";

    public override string Name => "deep";
    public override string PeftType => "PREFIX_TUNING";
    public override string Description => "deep prompts (P-tuning v2): free key/value prefixes at every layer, optionally a classification head";
    public override double DefaultLearningRate => 0.01;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        DeepPromptMethod.Create(new DeepPromptConfig(o.VirtualTokens, PrefixTuningDefinition.ParseInit(o.Init), o.InitText, o.HeadLabels), model, rng, o.Encode);

    public override bool Reads(AdapterReader a) => a.PeftType == PeftType && !PrefixTuningDefinition.Instance.Reads(a);

    public override TuningMethod Load(AdapterReader a)
    {
        var (n, layers, width) = PrefixTuningDefinition.CheckedShape(a);
        var saved = a.Read("prompt_embeddings", n, layers * 2 * width);
        int labels = a.Weights.Entries.TryGetValue(Classifier + "weight", out var head) && head.Shape.Length > 0 ? head.Shape[0] : 0;
        var deep = new DeepPromptMethod(new DeepPromptConfig(n, NumLabels: labels), layers, width, a.Model.Config.HiddenSize, a.Rng, saved);
        if (deep.Classifier is not null) a.LoadInto(deep.Classifier, Classifier);
        return deep;
    }

    protected override void Save(DeepPromptMethod p, AdapterWriter a)
    {
        a.Add("prompt_embeddings", p.Prefix);
        if (p.Classifier is not null) a.AddModule(Classifier, p.Classifier);
        a.PromptLearning(p.Config.NumVirtualTokens, PrefixLayout.Width(a.Model), a.Model.Config.KvHeads);
        a.Config["encoder_hidden_size"] = a.Model.Config.HiddenSize;
        a.Config["prefix_projection"] = false;
    }

    protected override object Settings(DeepPromptMethod p) => p.Config;
}
