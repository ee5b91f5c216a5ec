using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;

namespace SoftPrompt.MetaL;

/// <summary>
/// A prompt the PGM made for one task, in the graph back to the PGM while meta-training: M soft tokens [M, D]
/// (discrete, weighted sum, hidden state; the discrete design's ids too) or a per-layer key/value prefix of length M.
/// </summary>
public sealed record GeneratedPrompt(PromptDesign Design, Tensor? Tokens, int[]? TokenIds, KvPrefix? Prefix)
{
    /// <summary>M: the soft tokens or prefix positions the target LM reads.</summary>
    public int Length => Prefix?.Length ?? Tokens!.Shape[0];

    /// <summary>Virtual tokens a template must place (0 for a prefix).</summary>
    public int VirtualTokens => Prefix is null ? Length : 0;

    /// <summary>The plan pieces the target LM runs with: the soft tokens at the template's slots, or the prefix.</summary>
    public MethodOutput ToMethodOutput() => Prefix is null ? new(Tokens, null, []) : new(null, Prefix, []);

    /// <summary>
    /// The prompt as an ordinary adapter's method, detached from the PGM: prompt tuning's [M, D] tokens, or a deep
    /// prompt (PEFT's PREFIX_TUNING without projection) holding the prefix as [M, L·2·W] — so generate, eval, inspect and
    /// the attention diagnostic use it with no PGM present, and prompt tuning can refine it.
    /// </summary>
    public TuningMethod ToMethod(ICausalLanguageModel model)
    {
        if (Prefix is { } p)
        {
            var joined = PrefixLayout.Join(p).HeapCopy();
            joined.RequiresGrad = true;
            return new DeepPromptMethod(new DeepPromptConfig(p.Length), model.Config.Layers, PrefixLayout.Width(model), model.Config.HiddenSize, new Rng(0), joined);
        }
        var tokens = Tokens!.HeapCopy();
        tokens.RequiresGrad = true;
        return new PromptTuningMethod(new PromptTuningConfig(Length), tokens);
    }
}
