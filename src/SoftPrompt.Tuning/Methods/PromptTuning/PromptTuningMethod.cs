using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Methods.PromptTuning;

/// <summary>
/// Prompt tuning (Lester et al.): the virtual tokens are free parameters, embedding.weight [N, D]
/// (PEFT's PromptEmbedding), spliced where the template puts them — by default before the text, at
/// positions 0..N-1, as PEFT prepends them.
/// </summary>
public sealed class PromptTuningMethod : TuningMethod
{
    public PromptTuningConfig Config { get; }

    /// <summary>[N, D] virtual-token embeddings.</summary>
    public Tensor Embeddings { get; }

    public override MethodDefinition Definition => PromptTuningDefinition.Instance;
    public override int VirtualTokens => Config.NumVirtualTokens;

    public PromptTuningMethod(PromptTuningConfig config, Tensor embeddings)
    {
        if (config.NumVirtualTokens <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"num_virtual_tokens must be positive, got {config.NumVirtualTokens}.");
        if (embeddings.Rank != 2 || embeddings.Shape[0] != config.NumVirtualTokens)
            throw new ShapeMismatchException($"Prompt tuning: embeddings {Tensor.Format(embeddings.Shape)} do not hold {config.NumVirtualTokens} virtual tokens.");
        Config = config;
        Embeddings = RegisterPath("embedding.weight", embeddings);
    }

    /// <summary>Initialises the virtual tokens for the model. encode: text -> ids (Text and Labels inits need it).</summary>
    public static PromptTuningMethod Create(PromptTuningConfig config, ICausalLanguageModel model, Rng rng, Func<string, int[]>? encode = null)
    {
        int n = config.NumVirtualTokens, d = model.Config.HiddenSize;
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"num_virtual_tokens must be positive, got {n}.");
        Tensor e;
        switch (config.Init)
        {
            case PromptTuningInit.Random:
                e = Init.Uniform(Tensor.ZerosOnHeap(n, d), rng, -config.RandomRange, config.RandomRange);
                break;
            case PromptTuningInit.SampleVocab:
                int pool = Math.Min(config.SampleVocabSize, model.Config.VocabSize);
                e = EmbedIds(model, [.. Enumerable.Range(0, n).Select(_ => (int)(rng.NextUInt64() % (ulong)pool))]);
                break;
            case PromptTuningInit.Text:
                if (string.IsNullOrEmpty(config.InitText)) throw new ArgumentException("Prompt tuning: init Text needs InitText (prompt_tuning_init_text).");
                e = EmbedIds(model, RepeatOrCut(Encode(encode, config.InitText), n, "InitText"));
                break;
            case PromptTuningInit.Labels:
                if (config.LabelWords is not { Count: > 0 }) throw new ArgumentException("Prompt tuning: init Labels needs the class-label words.");
                e = EmbedIds(model, RepeatOrCut([.. config.LabelWords.SelectMany(w => Encode(encode, w))], n, "LabelWords"));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(config), $"unknown init {config.Init}");
        }
        e.RequiresGrad = true;
        return new PromptTuningMethod(config, e);
    }

    static int[] Encode(Func<string, int[]>? encode, string text) =>
        (encode ?? throw new ArgumentException("Prompt tuning: this init needs a tokenizer to encode text."))(text);

    /// <summary>PEFT's TEXT init: the ids repeated until there are n, then cut to n.</summary>
    internal static int[] RepeatOrCut(int[] ids, int n, string what)
    {
        if (ids.Length == 0) throw new ArgumentException($"Prompt tuning: {what} encodes to no tokens.");
        return [.. Enumerable.Range(0, n).Select(i => ids[i % ids.Length])];
    }

    /// <summary>The model's input embeddings of ids, as a fresh [n, D] parameter tensor.</summary>
    internal static Tensor EmbedIds(ICausalLanguageModel model, int[] ids)
    {
        using var _ = Tape.NoGrad();
        var rows = model.EmbedTokens(ids);
        var e = Tensor.ZerosOnHeap(rows.Shape.ToArray());
        rows.Span.CopyTo(e.Span);
        return e;
    }

    public override MethodOutput Compute() => new(Embeddings, null, []);

    public override void CheckFits(ICausalLanguageModel model)
    {
        if (Embeddings.Shape[1] != model.Config.HiddenSize)
            throw new ShapeMismatchException($"Prompt tuning: virtual tokens are {Embeddings.Shape[1]} wide; the model's embeddings are {model.Config.HiddenSize}.");
    }
}
