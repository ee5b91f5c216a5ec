using SoftPrompt.Models.Config;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// A decoder-only language model: token ids in, next-token logits out. Its weights are frozen; what
/// a prompt method adds comes in through <see cref="ForwardOptions.Plan"/>, which the caller binds once
/// a pass (<see cref="PlanBinding.Bind"/>) and hands, bound, to the blocks and the head.
/// </summary>
public interface ICausalLanguageModel
{
    ModelConfig Config { get; }

    /// <summary>Every linear layer a low-rank delta may target, in model order.</summary>
    IReadOnlyList<LinearLayerInfo> LinearLayers { get; }

    /// <summary>Every other parameter (embeddings, norms, biases, an untied head), in model order: what a plan's parameter deltas may change.</summary>
    IReadOnlyList<ParameterInfo> OtherParameters { get; }

    /// <summary>A new float32 copy of one of <see cref="OtherParameters"/> by name (full fine-tuning's decay toward zero needs its value).</summary>
    Tensor OtherParameter(string name);

    /// <summary>
    /// A new float32 copy of the named linear layer's frozen weight, [OutFeatures, InFeatures] (PEFT's orientation, whatever the
    /// checkpoint stores), for a method that needs its value (full fine-tuning's decay toward zero).
    /// </summary>
    Tensor LinearWeight(string name);

    /// <summary>ids: n token ids -> their input embeddings [n, D] (no position added), e.g. to initialise virtual tokens.</summary>
    Tensor EmbedTokens(ReadOnlySpan<int> ids);

    /// <summary>
    /// weights: [.., V] a distribution (or a one-hot) over the vocabulary -> [.., D] = weights·E, the input embedding it
    /// weighs (a one-hot gives a token's row exactly); gradients reach the weights, never E. For prompts a model generates
    /// as token probabilities (MetaL-Prompt's weighted-sum and discrete designs).
    /// </summary>
    Tensor EmbedWeighted(Tensor weights);

    /// <summary>
    /// ids: B·T token ids -> final hidden states (after the last norm) [B, T, D], or [N, D] at
    /// options.OutputPositions. With a cache, positions continue the cached sequence. plan: options.Plan bound to
    /// this model, batch and cache by the caller (<see cref="PlanBinding.Bind"/>); the architecture executes the
    /// binding and never binds (or reads the raw plan) itself. Give the same binding to <see cref="Head"/>.
    /// </summary>
    Tensor ForwardHidden(ReadOnlySpan<int> ids, int batch, int seq, PlanBinding plan, ForwardOptions options);

    /// <summary>hidden: [.., D] -> logits [.., V], the head changed by the bound plan's parameter deltas when it has any.</summary>
    Tensor Head(Tensor hidden, PlanBinding plan);

    /// <summary>ForwardHidden with options.Plan bound here, for a caller that wants no logits.</summary>
    Tensor ForwardHidden(ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions? options = null)
    {
        options ??= new ForwardOptions();
        return ForwardHidden(ids, batch, seq, PlanBinding.Bind(this, options.Plan, batch, options.Cache), options);
    }

    /// <summary>ids: B·T token ids -> logits [B, T, V] (or [N, V] at options.OutputPositions): options.Plan bound once, for the blocks and the head.</summary>
    Tensor Forward(ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions? options = null)
    {
        options ??= new ForwardOptions();
        var plan = PlanBinding.Bind(this, options.Plan, batch, options.Cache);
        return Head(ForwardHidden(ids, batch, seq, plan, options), plan);
    }

    /// <summary>Forward with a cache and a padding mask over B·(cached + new) tokens.</summary>
    Tensor Forward(ReadOnlySpan<int> ids, int batch, int seq, KvCache? cache, int[]? attentionMask = null)
        => Forward(ids, batch, seq, new ForwardOptions { Cache = cache, AttentionMask = attentionMask });
}
