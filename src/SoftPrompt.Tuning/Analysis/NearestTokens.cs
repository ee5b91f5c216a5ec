using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Analysis;

/// <summary>A vocabulary token near a virtual token: its id and the cosine similarity of their embeddings.</summary>
public readonly record struct NearToken(int Id, float Cosine);

/// <summary>
/// Lester et al.'s reading of a learned prompt: for each virtual token, the vocabulary tokens whose
/// input embeddings are nearest by cosine similarity. The table is read in chunks through the
/// model's own embedding lookup, so any storage dtype works and the memory stays bounded.
/// </summary>
public static class NearestTokens
{
    // virtualTokens: [N, D] -> N lists of k (id, cosine), best first
    public static NearToken[][] Find(ICausalLanguageModel model, Tensor virtualTokens, int k = 5, int chunk = 4096)
    {
        if (virtualTokens.Rank != 2 || virtualTokens.Shape[1] != model.Config.HiddenSize)
            throw new ShapeMismatchException($"NearestTokens: virtual tokens {Tensor.Format(virtualTokens.Shape)} are not [N, {model.Config.HiddenSize}].");
        int n = virtualTokens.Shape[0], d = virtualTokens.Shape[1], vocab = model.Config.VocabSize;
        k = Math.Clamp(k, 1, vocab);
        var best = Enumerable.Range(0, n).Select(_ => new PriorityQueue<int, float>()).ToArray();   // min-heaps of the k best
        using var noGrad = Tape.NoGrad();
        var queries = Normalized(virtualTokens.Span.ToArray(), n, d);
        for (int start = 0; start < vocab; start += chunk)
        {
            using var scope = TensorScope.Begin();
            int count = Math.Min(chunk, vocab - start);
            var rows = Normalized(model.EmbedTokens([.. Enumerable.Range(start, count)]).Span.ToArray(), count, d);
            var cos = F.MatMul(queries, rows, transB: true);   // [N, count]
            var cs = cos.Span;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < count; j++)
                {
                    float c = cs[i * count + j];
                    if (best[i].Count < k) best[i].Enqueue(start + j, c);
                    else if (best[i].TryPeek(out _, out float worst) && c > worst) best[i].EnqueueDequeue(start + j, c);
                }
        }
        return [.. best.Select(q =>
        {
            var list = new List<NearToken>();
            while (q.TryDequeue(out int id, out float c)) list.Add(new NearToken(id, c));
            list.Reverse();
            return list.ToArray();
        })];
    }

    /// <summary>Rows scaled to unit length (a zero row stays zero) as an [rows, d] tensor.</summary>
    static Tensor Normalized(float[] data, int rows, int d)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * d, d);
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0) TensorPrimitives.Divide(row, norm, row);
        }
        return Tensor.FromArray(data, rows, d);
    }
}
