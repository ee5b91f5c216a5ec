using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods.AttentionInputPrefix;

/// <summary>
/// attn-prefix: Petrov et al.'s prefix has no PEFT layout, so SoftPrompt's own type SOFTPROMPT_ATTENTION_INPUT_PREFIX,
/// "prefix.{layer}" [P, D], with PEFT's prompt-learning fields for its size.
/// </summary>
public sealed class AttentionInputPrefixDefinition : MethodDefinition<AttentionInputPrefixMethod>
{
    public static readonly AttentionInputPrefixDefinition Instance = new();

    public override string Name => "attn-prefix";
    public override string PeftType => "SOFTPROMPT_ATTENTION_INPUT_PREFIX";
    public override string Description => "Petrov et al.'s prefix: trainable vectors replacing every layer's attention input at the first P positions";
    public override double DefaultLearningRate => 0.001;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) => AttentionInputPrefixMethod.Create(o.VirtualTokens, model, rng);

    public override TuningMethod Load(AdapterReader a)
    {
        int n = a.SizeField("num_virtual_tokens", (long)a.Model.Config.Layers * a.Model.Config.HiddenSize);
        var m = AttentionInputPrefixMethod.Create(n, a.Model, a.Rng);
        a.LoadInto(m, "");
        return m;
    }

    protected override void Save(AttentionInputPrefixMethod m, AdapterWriter a)
    {
        a.AddModule("", m);
        a.PromptLearning(m.Length, a.Model.Config.HiddenSize, a.Model.Config.Heads);
    }

    protected override object Settings(AttentionInputPrefixMethod m) => new { m.Length };
}
