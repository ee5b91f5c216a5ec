using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Models.Generation;

/// <summary>Decoding settings: temperature 0 is greedy; top-k 0 and top-p 1 keep every token.</summary>
public sealed record GenerationOptions(int MaxNewTokens = 32, float Temperature = 0f, int TopK = 0, float TopP = 1f,
    float RepetitionPenalty = 1f, ulong Seed = 0, int? EosTokenId = null, bool UseCache = true);

/// <summary>Autoregressive decoding of one prompt with a key/value cache (or, for checking, without one).</summary>
public static class Generator
{
    /// <summary>Yields each new token id as it is chosen.</summary>
    public static IEnumerable<int> Generate(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        if (prompt.Count == 0) throw new ArgumentException("Generate: the prompt has no tokens.");
        if (options.MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(options), $"MaxNewTokens must be ≥ 0, got {options.MaxNewTokens}.");
        var rng = new Rng(options.Seed);
        var cache = options.UseCache ? new KvCache(model.Config.Layers) : null;
        var tokens = new List<int>(prompt);
        var input = prompt.ToArray();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next;
            using (Tape.NoGrad())
            using (TensorScope.Begin())
            {
                var logits = model.Forward(input, 1, input.Length, cache);          // [1, T, V]
                int v = logits.Size(-1);
                next = Sampling.Choose(logits.Span.Slice(logits.Length - v, v), tokens, options, rng);
            }
            tokens.Add(next);
            yield return next;
            if (next == options.EosTokenId) yield break;
            input = cache is null ? tokens.ToArray() : [next];
        }
    }
}
