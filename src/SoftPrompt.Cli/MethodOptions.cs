using System.CommandLine;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Cli;

/// <summary>The options that configure a tuning method, and building the method from them.</summary>
internal sealed class MethodOptions
{
    public readonly Option<string> Method = new("--method") { Description = "prompt | prefix | ptuning | deep | lora | full | attn-prefix (Petrov et al.'s prefix on every layer's attention input).", Required = true };
    public readonly Option<int> VirtualTokens = new("--virtual-tokens") { Description = "Virtual tokens (prompt, ptuning) or prefix length (prefix, deep).", DefaultValueFactory = _ => 20 };
    public readonly Option<string> Init = new("--init") { Description = "prompt: random | vocab | text | labels; prefix, deep: random | word | zero.", DefaultValueFactory = _ => "random" };
    public readonly Option<string?> InitText = new("--init-text") { Description = "Text for --init text (prompt) or word (prefix, deep)." };
    public readonly Option<string> Encoder = new("--encoder") { Description = "P-tuning prompt encoder: mlp | lstm.", DefaultValueFactory = _ => "mlp" };
    public readonly Option<int> EncoderHidden = new("--encoder-hidden") { Description = "Hidden size of the P-tuning encoder (0: the model's) or the prefix reparametrisation.", DefaultValueFactory = _ => 0 };
    public readonly Option<int> LoraR = new("--lora-r") { Description = "LoRA rank.", DefaultValueFactory = _ => 8 };
    public readonly Option<float> LoraAlpha = new("--lora-alpha") { Description = "LoRA alpha (scale alpha/r).", DefaultValueFactory = _ => 16f };
    public readonly Option<float> LoraDropout = new("--lora-dropout") { Description = "Dropout on the LoRA input.", DefaultValueFactory = _ => 0f };
    public readonly Option<bool> Head = new("--head") { Description = "deep: classify with a head on the last position (labels from --verbalizer) instead of scoring label words." };
    public readonly Option<string?> TargetModules = new("--target-modules") { Description = "Comma-separated layer names for LoRA (PEFT's target_modules), e.g. c_attn or q_proj,v_proj; with --method full, only those layers' weights train (default: every parameter)." };

    public readonly Option<bool> NoEmbeddingDecay = new("--no-embedding-decay") { Description = "full: spare the embedding tables from --weight-decay, as minGPT (Petrov et al.'s code) does; by default they decay with the other matrices, as in a Hugging Face Trainer (biases and norms never decay)." };

    public IEnumerable<Option> All => [Method, VirtualTokens, Init, InitText, Encoder, EncoderHidden, LoraR, LoraAlpha, LoraDropout, TargetModules, Head, NoEmbeddingDecay];

    public TuningMethod Create(ParseResult p, ICausalLanguageModel model, Func<string, int[]> encode, Tuning.Data.Verbalizer? verbalizer, ulong seed)
    {
        var labelWords = verbalizer?.Labels.SelectMany(l => verbalizer.WordsFor(l)).Select(w => " " + w).ToArray();
        int headLabels = p.GetValue(Head) ? (verbalizer?.Labels.Count ?? throw new ArgumentException("--head needs --verbalizer for the label set.")) : 0;
        var rng = new Rng(seed);
        int n = p.GetValue(VirtualTokens), hidden = p.GetValue(EncoderHidden);
        string init = p.GetValue(Init)!.ToLowerInvariant(), method = p.GetValue(Method)!.ToLowerInvariant();
        string? text = p.GetValue(InitText);
        string[]? targets = p.GetValue(TargetModules)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (p.GetValue(NoEmbeddingDecay) && method != "full") throw new ArgumentException($"--no-embedding-decay sets full fine-tuning's weight decay; --method is '{method}'.");
        PrefixInit PrefixInitFrom() => init switch
        {
            "random" => PrefixInit.Random, "word" => PrefixInit.Word, "zero" => PrefixInit.Zero,
            _ => throw new ArgumentException($"--init '{init}': a prefix starts random, word or zero."),
        };
        return method switch
        {
            "prompt" => PromptTuningMethod.Create(new PromptTuningConfig(n, init switch
            {
                "random" => PromptTuningInit.Random, "vocab" => PromptTuningInit.SampleVocab, "text" => PromptTuningInit.Text, "labels" => PromptTuningInit.Labels,
                _ => throw new ArgumentException($"--init '{init}': prompt tuning starts random, vocab, text or labels."),
            }, text, labelWords), model, rng, encode),
            "ptuning" => PTuningMethod.Create(new PTuningConfig(n, p.GetValue(Encoder) switch
            {
                "mlp" => PromptEncoderType.Mlp, "lstm" => PromptEncoderType.Lstm,
                var e => throw new ArgumentException($"--encoder '{e}': mlp or lstm."),
            }, hidden), model, rng),
            "prefix" => PrefixTuningMethod.Create(new PrefixTuningConfig(n, hidden > 0 ? hidden : 512, PrefixInitFrom(), text), model, rng, encode),
            "deep" => DeepPromptMethod.Create(new DeepPromptConfig(n, PrefixInitFrom(), text, headLabels), model, rng, encode),
            "lora" => LoraMethod.Create(new LoraConfig(p.GetValue(LoraR), p.GetValue(LoraAlpha), p.GetValue(LoraDropout), targets), model, rng),
            "attn-prefix" => Tuning.Methods.AttentionInputPrefix.AttentionInputPrefixMethod.Create(n, model, rng),
            "full" => Tuning.Methods.FullFineTuning.FullFineTuningMethod.Create(new(targets, DecayEmbeddings: !p.GetValue(NoEmbeddingDecay)), model),
            _ => throw new ArgumentException($"--method '{method}': prompt, prefix, ptuning, deep, lora, full or attn-prefix."),
        };
    }
}
