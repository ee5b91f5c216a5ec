using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PTuning;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.MetaL;

/// <summary>
/// MetaL-Prompt's prompt generation model (PGM): the frozen target LM through its own LoRA ("lora.") with trainable
/// padding ("padding.": P-tuning's encoder over M trainable inputs). One pass over [X_P ; pads] gives the prompt at
/// the M pad positions, in the config's design. The target's weights are in memory once: the LoRA is a plan the
/// same frozen model runs.
/// </summary>
public sealed class PromptGenerator : Module
{
    public PgmConfig Config { get; }
    public LoraMethod Lora { get; }
    public PTuningMethod Padding { get; }

    public PromptGenerator(PgmConfig config, ICausalLanguageModel model, Rng rng)
    {
        config.Check();
        Config = config;
        var targets = config.LoraTargets ?? LoraConfig.DefaultTargets(model.Config.ModelType);
        Lora = RegisterModule("lora", LoraMethod.Create(new LoraConfig(config.LoraRank, config.LoraAlpha, 0f, targets), model, rng));
        Padding = RegisterModule("padding", PTuningMethod.Create(new PTuningConfig(config.PadTokens, config.PaddingEncoder, config.PaddingHidden), model, rng));
    }

    public int PadTokens => Config.PadTokens;

    /// <summary>Positions a pass over X_P may take: the model's, less the pads and a previous prompt read before them.</summary>
    public int DemonstrationBudget(ICausalLanguageModel model, bool afterPrevious) => model.Config.MaxPositions - PadTokens - (afterPrevious ? PadTokens : 0);

    /// <summary>
    /// demonstrations: X_P's ids [T] -> the prompt. gumbelNoise [M, V]: the discrete design's noise while meta-training
    /// (straight-through Gumbel-softmax); null: the PGM's most likely tokens (serving), and no noise for the other designs.
    /// previous: a prompt this PGM made from earlier examples, read before them — [previous ; X_P ; pads] refines it (the
    /// seed's iterative generation for more examples than one pass holds): soft tokens first, a discrete prompt's tokens
    /// as text, a prefix as the pass's key/value prefix.
    /// </summary>
    public GeneratedPrompt Generate(ICausalLanguageModel model, ReadOnlySpan<int> demonstrations, Tensor? gumbelNoise = null, GeneratedPrompt? previous = null)
    {
        if (previous is not null && previous.Design != Config.Design) throw new ArgumentException($"PGM: a previous {PromptDesigns.Name(previous.Design)} prompt for a {PromptDesigns.Name(Config.Design)} PGM.");
        int lead = previous is { Prefix: null } ? previous.Length : 0;   // positions a previous soft or discrete prompt takes first
        int t = lead + demonstrations.Length, m = PadTokens, seq = t + m;
        if (seq + (previous?.Prefix?.Length ?? 0) > model.Config.MaxPositions)
            throw new ArgumentException($"PGM: {demonstrations.Length} demonstration tokens + {m} pads{(previous is null ? "" : " + the previous prompt")} exceed the model's {model.Config.MaxPositions} positions; generate iteratively over chunks of the examples.");
        var ids = new int[seq];
        if (previous?.TokenIds is { } previousIds) previousIds.CopyTo(ids, 0);
        demonstrations.CopyTo(ids.AsSpan(lead));
        // [previous ; X_P ; pads]: the pads' embeddings take the M positions after the demonstrations (their ids are placeholders)
        List<SoftTokens> soft = [new SoftTokens(t, Padding.Encode())];
        if (previous is { Prefix: null, TokenIds: null, Tokens: { } previousTokens }) soft.Insert(0, new SoftTokens(0, previousTokens));
        var plan = new PromptPlan([new RowPlan { SoftTokens = soft, Prefix = previous?.Prefix, Deltas = Lora.Compute().Deltas }]);
        int[] pads = [.. Enumerable.Range(t, m)];
        switch (Config.Design)
        {
            case PromptDesign.Prefix:
            {
                var recorder = new KeyValueRecorder(model.Config.Layers);
                model.ForwardHidden(ids, 1, seq, new ForwardOptions { Plan = plan, OutputPositions = [seq - 1], KeyValueRecorder = recorder });
                var all = recorder.ToPrefix();   // [T + M, W] per layer, keys as attention scored them
                return new GeneratedPrompt(Config.Design, null, null, new KvPrefix(
                    [.. all.Keys.Select(k => F.Slice(k, 0, t, m))], [.. all.Values.Select(v => F.Slice(v, 0, t, m))]));
            }
            case PromptDesign.HiddenState:
                return new GeneratedPrompt(Config.Design, model.ForwardHidden(ids, 1, seq, new ForwardOptions { Plan = plan, OutputPositions = pads }), null, null);   // [M, D]
            case PromptDesign.WeightedSum:
            {
                var logits = model.Forward(ids, 1, seq, new ForwardOptions { Plan = plan, OutputPositions = pads });   // [M, V]
                return new GeneratedPrompt(Config.Design, model.EmbedWeighted(F.Softmax(logits)), null, null);
            }
            case PromptDesign.Discrete:
            {
                var logits = model.Forward(ids, 1, seq, new ForwardOptions { Plan = plan, OutputPositions = pads });   // [M, V]
                if (gumbelNoise is null)   // serving: the most likely tokens themselves
                {
                    var best = ArgMaxRows(logits);
                    return new GeneratedPrompt(Config.Design, model.EmbedTokens(best), best, null);
                }
                // meta-training: a one-hot forward (exactly the chosen tokens' embeddings), softmax((logits + g)/τ)'s gradient backward
                var y = F.GumbelSoftmax(logits, Config.GumbelTau, hard: true, gumbelNoise);
                return new GeneratedPrompt(Config.Design, model.EmbedWeighted(y), ArgMaxRows(y), null);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(Config.Design));
        }
    }

    /// <summary>Fresh Gumbel(0, 1) noise [M, V] for one discrete generation while meta-training.</summary>
    public Tensor GumbelNoise(ICausalLanguageModel model, Rng rng) => F.GumbelNoise(rng, PadTokens, model.Config.VocabSize);

    // x: [M, V] -> each row's argmax
    static int[] ArgMaxRows(Tensor x)
    {
        int rows = x.Shape[0], v = x.Shape[1];
        var chosen = new int[rows];
        for (int r = 0; r < rows; r++) chosen[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(x.Span.Slice(r * v, v));
        return chosen;
    }

    /// <summary>Trainable parameters (LoRA and padding).</summary>
    public long TrainableParameters => Parameters().Where(p => p.RequiresGrad).Sum(p => (long)p.Length);
}
