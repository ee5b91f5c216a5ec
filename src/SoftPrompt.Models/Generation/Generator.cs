using System.Runtime.CompilerServices;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Autoregressive decoding with a key/value cache (or, for checking, without one). A prompt plan
/// holds for the whole generation: its soft tokens are placed in the prompt pass, its prefix goes
/// into the cache with that pass, its low-rank deltas act on every step. The LM head runs only at
/// each row's last position.
/// </summary>
public static class Generator
{
    /// <summary>Yields each new token id as it is chosen. plan: one row, or null.</summary>
    public static IEnumerable<int> Generate(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options, PromptPlan? plan = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("Generate: the prompt has no tokens.");
        options.Validate();
        if (plan is not null && plan.Batch != 1) throw new ArgumentException($"Generate: the plan has {plan.Batch} rows; one prompt needs one.");
        return GenerateCore(model, prompt, options, plan);
    }

    static IEnumerable<int> GenerateCore(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options, PromptPlan? plan)
    {
        var rng = new Rng(options.Seed);
        using var cache = options.UseCache ? NewCache(model, prompt.Count, options) : null;
        var tokens = new List<int>(prompt);
        var generated = new List<int>();
        var input = prompt.ToArray();
        var stepPlan = plan;
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next;
            using (Tape.NoGrad())
            using (TensorScope.Begin())
            {
                var logits = model.Forward(input, 1, input.Length, new ForwardOptions { Cache = cache, Plan = stepPlan, OutputPositions = [input.Length - 1] });   // [1, V]
                next = Sampling.Choose(logits.Span, tokens, options, rng);
            }
            tokens.Add(next);
            generated.Add(next);
            yield return next;
            if (options.Stops(generated)) yield break;
            // With a cache only the new token is fed; without one the whole sequence is, with the plan as given.
            if (cache is not null) { input = [next]; stepPlan = plan?.ForContinuation(); }
            else input = tokens.ToArray();
        }
    }

    /// <summary>A cache made at once for a prompt of <paramref name="promptLength"/> and every new token (up to the model's positions).</summary>
    static KvCache NewCache(ICausalLanguageModel model, int promptLength, GenerationOptions options) =>
        new(model.Config.Layers) { ReservedLength = Math.Min(promptLength + options.MaxNewTokens, model.Config.MaxPositions) };

    /// <summary>
    /// Streams the new token ids; each step runs on the thread pool, so the caller's thread is free
    /// between tokens. Cancelling stops after the current step.
    /// </summary>
    public static async IAsyncEnumerable<int> StreamAsync(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options,
        PromptPlan? plan = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var steps = Generate(model, prompt, options, plan).GetEnumerator();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!await Task.Run(steps.MoveNext, cancellationToken).ConfigureAwait(false)) yield break;
            yield return steps.Current;
        }
    }

    /// <summary>
    /// Decodes several prompts in one batch: prompts are left-padded and masked (HF's convention),
    /// so each row gives what it would alone; row b's plan (plan[b]) has its soft tokens moved past
    /// the padding. A row stops at its end-of-sequence id or stop string.
    /// </summary>
    public static List<int>[] GenerateBatch(ICausalLanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
        int padTokenId = 0, PromptPlan? plan = null)
    {
        int batch = prompts.Count;
        options.Validate();
        if (batch == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("GenerateBatch: a prompt has no tokens.");
        if (plan is not null && plan.Batch != batch) throw new ArgumentException($"GenerateBatch: the plan has {plan.Batch} rows for {batch} prompts.");
        int longest = prompts.Max(p => p.Count);
        var pads = prompts.Select(p => longest - p.Count).ToArray();
        var ids = new int[batch * longest];
        var rows = new List<int>[batch];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < longest; t++) ids[b * longest + t] = t < pads[b] ? padTokenId : prompts[b][t - pads[b]];
            rows[b] = new List<int>(prompts[b]);
        }
        int[] Mask(int length)
        {
            var m = new int[batch * length];
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < length; t++) m[b * length + t] = t < pads[b] ? 0 : 1;
            return m;
        }
        var rng = new Rng(options.Seed);
        using var cache = NewCache(model, longest, options);
        var outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var done = new bool[batch];
        var stepPlan = plan?.Shifted(pads);
        int seq = longest;
        for (int step = 0; step < options.MaxNewTokens && !done.All(d => d); step++)
        {
            var next = new int[batch];
            var last = Enumerable.Range(0, batch).Select(b => b * seq + seq - 1).ToArray();
            using (Tape.NoGrad())
            using (TensorScope.Begin())
            {
                var logits = model.Forward(ids, batch, seq, new ForwardOptions { Cache = cache, AttentionMask = Mask(cache.Length + seq), Plan = stepPlan, OutputPositions = last });   // [B, V]
                int v = logits.Size(-1);
                for (int b = 0; b < batch; b++) next[b] = Sampling.Choose(logits.Span.Slice(b * v, v), rows[b], options, rng);
            }
            for (int b = 0; b < batch; b++)
            {
                rows[b].Add(next[b]);
                if (done[b]) continue;
                outputs[b].Add(next[b]);
                done[b] = options.Stops(outputs[b]);
            }
            ids = next;
            seq = 1;
            stepPlan = stepPlan?.ForContinuation();
        }
        return outputs;
    }
}
