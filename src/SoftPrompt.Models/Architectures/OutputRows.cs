using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// Keeps only the positions whose outputs are wanted. Before the final norm and the head, those rows are
/// selected; and the last block already works on a suffix of the sequence: from the first wanted position
/// on (the same in every row), it computes queries, the attention output, its projection and the MLP, while
/// its keys and values still cover every position. A training batch whose loss sits on the answer tokens
/// at the end of each row (Petrov et al.'s tasks: 10 of 19) skips most of the last block at the others.
/// </summary>
static class OutputRows
{
    // x: [B, T, D], positions: N flat indices b·T + t -> [N, D]; x itself when positions is null
    public static Tensor Select(Tensor x, int[]? positions)
    {
        if (positions is null) return x;
        int d = x.Shape[^1];
        return F.IndexSelect(F.Reshape(x, x.Length / d, d), positions);
    }

    /// <summary>
    /// The first position t0 that any row wants an output at, or 0 when every position is wanted (no
    /// OutputPositions) or an attention observer must see every query.
    /// </summary>
    public static int SuffixStart(ForwardOptions options, int seq)
    {
        if (options.OutputPositions is not { Length: > 0 } positions || options.AttentionObserver is not null) return 0;
        int start = seq;
        foreach (int p in positions) start = Math.Min(start, p % seq);
        return start;
    }

    // x: [B, T, W] -> [B, T - start, W] (x itself when start is 0)
    public static Tensor Suffix(Tensor x, int start) => start == 0 ? x : F.Slice(x, 1, start, x.Shape[1] - start);

    /// <summary>Flat positions b·T + t over the whole sequence -> b·(T - start) + (t - start) over its suffix.</summary>
    public static int[]? InSuffix(int[]? positions, int seq, int start)
    {
        if (positions is null || start == 0) return positions;
        var shifted = new int[positions.Length];
        for (int i = 0; i < positions.Length; i++) shifted[i] = positions[i] / seq * (seq - start) + positions[i] % seq - start;
        return shifted;
    }
}
