using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>What a forward pass takes besides the ids.</summary>
public sealed record ForwardOptions
{
    /// <summary>Keys and values of earlier tokens; the ids continue that sequence and are appended to it.</summary>
    public KvCache? Cache { get; init; }

    /// <summary>B·(cached + new) entries over the text tokens, 1 = real and 0 = padding (HF's convention). A plan's prefix is always visible and not part of it.</summary>
    public int[]? AttentionMask { get; init; }

    /// <summary>
    /// The prompt plan: per row virtual tokens, key/value prefixes, linear-layer deltas and attention-input prefixes; per
    /// batch parameter deltas. Whoever runs the pass binds it once (<see cref="Plans.PlanBinding.Bind"/>) for the blocks and the head.
    /// </summary>
    public PromptPlan? Plan { get; init; }

    /// <summary>
    /// Flat positions b·T + t whose outputs are wanted (e.g. the answer tokens of a training batch);
    /// null for all. The final norm and the LM head then run only there.
    /// </summary>
    public int[]? OutputPositions { get; init; }

    /// <summary>
    /// Training mode (Hugging Face's model.train()): the checkpoint's dropouts (<see cref="Config.ModelConfig.Dropout"/>)
    /// act, their masks drawn from this stream. Null, the default, is evaluation mode: no dropout.
    /// </summary>
    public Rng? DropoutRng { get; init; }

    /// <summary>Receives each layer's attention probabilities (and, if it asks, the plan-free baseline); slower, for analysis.</summary>
    public IAttentionObserver? AttentionObserver { get; init; }

    /// <summary>Receives each layer's keys and values of this pass, in the autograd graph (<see cref="SharedLeadingTokens"/> uses it).</summary>
    public KeyValueRecorder? KeyValueRecorder { get; init; }
}
