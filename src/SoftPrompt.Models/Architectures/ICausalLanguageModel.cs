using SoftPrompt.Models.Config;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>A decoder-only language model: token ids in, next-token logits out, with an optional key/value cache.</summary>
public interface ICausalLanguageModel
{
    ModelConfig Config { get; }

    /// <summary>
    /// ids: B·T new token ids -> logits [B, T, V]. With a cache, the ids continue the cached
    /// sequence (positions start at cache.Length) and their keys and values are appended to it.
    /// attentionMask: B·(cached + new) entries, 1 for real tokens and 0 for padding (HF's convention).
    /// </summary>
    Tensor Forward(ReadOnlySpan<int> ids, int batch, int seq, KvCache? cache = null, int[]? attentionMask = null);
}
