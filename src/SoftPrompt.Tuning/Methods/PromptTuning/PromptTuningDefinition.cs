using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods.PromptTuning;

/// <summary>prompt: PEFT's PROMPT_TUNING, the virtual tokens saved as prompt_embeddings [N, D].</summary>
public sealed class PromptTuningDefinition : MethodDefinition<PromptTuningMethod>
{
    public static readonly PromptTuningDefinition Instance = new();

    public override string Name => "prompt";
    public override string PeftType => "PROMPT_TUNING";
    public override string Description => "prompt tuning (Lester et al.): N trainable virtual tokens at the input";
    public override double DefaultLearningRate => 0.3;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        PromptTuningMethod.Create(new PromptTuningConfig(o.VirtualTokens, o.Init.ToLowerInvariant() switch
        {
            "random" => PromptTuningInit.Random, "vocab" => PromptTuningInit.SampleVocab, "text" => PromptTuningInit.Text, "labels" => PromptTuningInit.Labels,
            _ => throw new ArgumentException($"--init '{o.Init}': prompt tuning starts random, vocab, text or labels."),
        }, o.InitText, o.LabelWords), model, rng, o.Encode);

    public override TuningMethod Load(AdapterReader a)
    {
        int n = a.Config.Int("num_virtual_tokens") * a.Config.Int("num_transformer_submodules", 1);
        return new PromptTuningMethod(new PromptTuningConfig(n), a.Read("prompt_embeddings", n, a.Model.Config.HiddenSize));
    }

    protected override void Save(PromptTuningMethod p, AdapterWriter a)
    {
        var c = a.Model.Config;
        a.Add("prompt_embeddings", p.Embeddings);
        a.PromptLearning(p.Config.NumVirtualTokens, c.HiddenSize, c.Heads);
        a.Config["prompt_tuning_init"] = p.Config.Init switch
        {
            PromptTuningInit.Text => "TEXT",
            PromptTuningInit.SampleVocab => "SAMPLE_VOCAB",
            _ => "RANDOM",   // Labels init has no PEFT name: the tokens are saved, so RANDOM loads them unchanged
        };
        a.Config["prompt_tuning_init_text"] = p.Config.Init == PromptTuningInit.Text ? p.Config.InitText : null;
        a.Config["tokenizer_name_or_path"] = p.Config.Init == PromptTuningInit.Text ? a.BaseModel : null;
        a.Config["tokenizer_kwargs"] = null;
    }

    protected override object Settings(PromptTuningMethod p) => p.Config;
}
