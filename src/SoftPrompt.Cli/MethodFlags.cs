using System.CommandLine;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Cli;

/// <summary>The flags that configure a tuning method, read into <see cref="MethodOptions"/>; the method comes from <see cref="MethodRegistry"/>.</summary>
internal sealed class MethodFlags
{
    public readonly Option<string> Method = new("--method")
    {
        Description = "The method: " + string.Join("; ", MethodRegistry.All.Select(d => $"{d.Name}: {d.Description}")) + ".",
        Required = true,
    };
    public readonly Option<int> VirtualTokens = new("--virtual-tokens") { Description = "Virtual tokens (prompt, ptuning) or prefix length (prefix, deep, attn-prefix).", DefaultValueFactory = _ => 20 };
    public readonly Option<string> Init = new("--init") { Description = "prompt: random | vocab | text | labels; prefix, deep: random | word | zero.", DefaultValueFactory = _ => "random" };
    public readonly Option<string?> InitText = new("--init-text") { Description = "Text for --init text (prompt) or word (prefix, deep)." };
    public readonly Option<string> Encoder = new("--encoder") { Description = "P-tuning prompt encoder: mlp | lstm.", DefaultValueFactory = _ => "mlp" };
    public readonly Option<int> EncoderHidden = new("--encoder-hidden") { Description = "Hidden size of the P-tuning encoder (0: the model's) or the prefix reparametrisation (0: 512).", DefaultValueFactory = _ => 0 };
    public readonly Option<int> LoraR = new("--lora-r") { Description = "LoRA rank.", DefaultValueFactory = _ => 8 };
    public readonly Option<float> LoraAlpha = new("--lora-alpha") { Description = "LoRA alpha (scale alpha/r).", DefaultValueFactory = _ => 16f };
    public readonly Option<float> LoraDropout = new("--lora-dropout") { Description = "Dropout on the LoRA input.", DefaultValueFactory = _ => 0f };
    public readonly Option<bool> Head = new("--head") { Description = "deep: classify with a head on the last position (labels from --verbalizer) instead of scoring label words." };
    public readonly Option<string?> TargetModules = new("--target-modules") { Description = "Comma-separated layer names for LoRA (PEFT's target_modules), e.g. c_attn or q_proj,v_proj; with --method full, only those layers' weights train (default: every parameter)." };

    public readonly Option<bool> NoEmbeddingDecay = new("--no-embedding-decay") { Description = "full: spare the embedding tables from --weight-decay, as minGPT (Petrov et al.'s code) does; by default they decay with the other matrices, as in a Hugging Face Trainer (biases and norms never decay)." };

    public IEnumerable<Option> All => [Method, VirtualTokens, Init, InitText, Encoder, EncoderHidden, LoraR, LoraAlpha, LoraDropout, TargetModules, Head, NoEmbeddingDecay];

    /// <summary>The registry's entry for --method; an error listing every method otherwise.</summary>
    public MethodDefinition Definition(ParseResult p) => MethodRegistry.Get(p.GetValue(Method)!);

    public TuningMethod Create(ParseResult p, ICausalLanguageModel model, Func<string, int[]> encode, Tuning.Data.Verbalizer? verbalizer, ulong seed)
    {
        var definition = Definition(p);
        if (p.GetValue(NoEmbeddingDecay) && definition != Tuning.Methods.FullFineTuning.FullFineTuningDefinition.Instance)
            throw new ArgumentException($"--no-embedding-decay sets full fine-tuning's weight decay; --method is '{definition.Name}'.");
        var options = new MethodOptions
        {
            VirtualTokens = p.GetValue(VirtualTokens), Init = p.GetValue(Init)!, InitText = p.GetValue(InitText),
            LabelWords = verbalizer?.Labels.SelectMany(l => verbalizer.WordsFor(l)).Select(w => " " + w).ToArray(),
            Encoder = p.GetValue(Encoder)!, EncoderHidden = p.GetValue(EncoderHidden),
            LoraRank = p.GetValue(LoraR), LoraAlpha = p.GetValue(LoraAlpha), LoraDropout = p.GetValue(LoraDropout),
            TargetModules = p.GetValue(TargetModules)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            HeadLabels = p.GetValue(Head) ? (verbalizer?.Labels.Count ?? throw new ArgumentException("--head needs --verbalizer for the label set.")) : 0,
            DecayEmbeddings = !p.GetValue(NoEmbeddingDecay),
            Encode = encode,
        };
        return definition.Create(options, model, new Rng(seed));
    }
}
