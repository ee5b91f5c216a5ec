using System.Numerics.Tensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Generation;

/// <summary>Chooses the next token from one row of logits: repetition penalty, temperature, top-k, top-p (Hugging Face's order).</summary>
public static class Sampling
{
    public static int Choose(ReadOnlySpan<float> logits, IReadOnlyList<int> seen, GenerationOptions o, Rng rng)
    {
        if (o.Temperature <= 0f && o.RepetitionPenalty == 1f) return TensorPrimitives.IndexOfMax(logits);   // greedy: no copy
        var scores = logits.ToArray();
        if (o.RepetitionPenalty != 1f)
            foreach (int t in seen.Distinct())
                scores[t] = scores[t] < 0 ? scores[t] * o.RepetitionPenalty : scores[t] / o.RepetitionPenalty;
        if (o.Temperature <= 0f) return TensorPrimitives.IndexOfMax(scores);
        TensorPrimitives.Divide(scores, o.Temperature, scores);
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        int keep = o.TopK > 0 ? Math.Min(o.TopK, order.Length) : order.Length;
        var probs = new float[keep];
        for (int i = 0; i < keep; i++) probs[i] = scores[order[i]];
        TensorPrimitives.SoftMax(probs, probs);
        if (o.TopP < 1f)
        {
            // Keep the smallest prefix whose mass reaches top-p (at least one token).
            double mass = 0; int n = 0;
            while (n < keep && (n == 0 || mass < o.TopP)) mass += probs[n++];
            keep = n;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
        double u = rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += probs[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }
}
