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

    /// <summary>
    /// Decodes several prompts in one batch: prompts are left-padded and masked (HF's convention),
    /// so each row gives what it would alone. A row stops at its end-of-sequence id.
    /// </summary>
    public static List<int>[] GenerateBatch(ICausalLanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, int padTokenId = 0)
    {
        int batch = prompts.Count;
        if (batch == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("GenerateBatch: a prompt has no tokens.");
        int longest = prompts.Max(p => p.Count);
        var ids = new int[batch * longest];
        var mask = new List<int>(batch * longest);
        var rows = new List<int>[batch];
        for (int b = 0; b < batch; b++)
        {
            int pad = longest - prompts[b].Count;
            for (int t = 0; t < longest; t++) ids[b * longest + t] = t < pad ? padTokenId : prompts[b][t - pad];
            rows[b] = new List<int>(prompts[b]);
        }
        int[] Mask(int length)
        {
            var m = new int[batch * length];
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < length; t++) m[b * length + t] = t < longest - prompts[b].Count ? 0 : 1;
            return m;
        }
        var rng = new Rng(options.Seed);
        var cache = new KvCache(model.Config.Layers);
        var outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var done = new bool[batch];
        int seq = longest;
        for (int step = 0; step < options.MaxNewTokens && !done.All(d => d); step++)
        {
            var next = new int[batch];
            using (Tape.NoGrad())
            using (TensorScope.Begin())
            {
                var logits = model.Forward(ids, batch, seq, cache, Mask(cache.Length + seq));   // [B, seq, V]
                int v = logits.Size(-1);
                for (int b = 0; b < batch; b++)
                    next[b] = Sampling.Choose(logits.Span.Slice(((b + 1) * seq - 1) * v, v), rows[b], options, rng);
            }
            for (int b = 0; b < batch; b++)
            {
                rows[b].Add(next[b]);
                if (done[b]) continue;
                outputs[b].Add(next[b]);
                if (next[b] == options.EosTokenId) done[b] = true;
            }
            ids = next;
            seq = 1;
        }
        return outputs;
    }
}
