using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods.PrefixTuning;

/// <summary>
/// prefix: PEFT's PREFIX_TUNING with prefix_projection, the projected prefix saved as prompt_embeddings [N, L·2·W] and
/// the reparametrisation under "softprompt.prefix_encoder.". A PREFIX_TUNING file without it (PEFT's own, or
/// prefix_projection false) is a deep prompt's (<see cref="DeepPrompt.DeepPromptDefinition"/>).
/// </summary>
public sealed class PrefixTuningDefinition : MethodDefinition<PrefixTuningMethod>
{
    public static readonly PrefixTuningDefinition Instance = new();

    internal const string Encoder = AdapterReader.Own + "prefix_encoder.";

    public override string Name => "prefix";
    public override string PeftType => "PREFIX_TUNING";
    public override string Description => "prefix tuning (Li and Liang): key/value prefixes at every layer, trained through an MLP reparametrisation";
    public override double DefaultLearningRate => 0.005;

    /// <summary>--init for a prefix (prefix and deep prompts).</summary>
    internal static PrefixInit ParseInit(string init) => init.ToLowerInvariant() switch
    {
        "random" => PrefixInit.Random, "word" => PrefixInit.Word, "zero" => PrefixInit.Zero,
        _ => throw new ArgumentException($"--init '{init}': a prefix starts random, word or zero."),
    };

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        PrefixTuningMethod.Create(new PrefixTuningConfig(o.VirtualTokens, o.EncoderHidden > 0 ? o.EncoderHidden : 512, ParseInit(o.Init), o.InitText), model, rng, o.Encode);

    public override bool Reads(AdapterReader a) => a.PeftType == PeftType && a.Config.Bool("prefix_projection", false) && a.HasTensorsUnder(Encoder);

    public override TuningMethod Load(AdapterReader a)
    {
        var (n, layers, width) = CheckedShape(a);
        a.Read("prompt_embeddings", n, layers * 2 * width);
        var m = new PrefixTuningMethod(new PrefixTuningConfig(n, a.SizeField("encoder_hidden_size", width)), layers, width, a.Rng);
        a.LoadInto(m, Encoder);
        return m;
    }

    /// <summary>num_virtual_tokens, num_layers and token_dim, checked against the model.</summary>
    internal static (int N, int Layers, int Width) CheckedShape(AdapterReader a)
    {
        int n = a.Config.Int("num_virtual_tokens"), layers = a.Config.Int("num_layers"), width = a.Config.Int("token_dim");
        var c = a.Model.Config;
        if (layers != c.Layers || width != PrefixLayout.Width(a.Model))
            throw a.ConfigError($"the prefix is for {layers} layers of width token_dim = {width}; this {c.ModelType} model has {c.Layers} layers of key/value width {PrefixLayout.Width(a.Model)}.");
        return (n, layers, width);
    }

    protected override void Save(PrefixTuningMethod p, AdapterWriter a)
    {
        a.AddComputed("prompt_embeddings", p.Project());
        a.AddModule(Encoder, p);
        // Grouped-query attention: PEFT sizes the prefix by the key/value heads (token_dim = hd·Hkv, heads = Hkv).
        a.PromptLearning(p.Config.NumVirtualTokens, PrefixLayout.Width(a.Model), a.Model.Config.KvHeads);
        a.Config["encoder_hidden_size"] = p.Config.EncoderHiddenSize;
        a.Config["prefix_projection"] = true;
    }

    protected override object Settings(PrefixTuningMethod p) => p.Config;
}
