using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// Keeps only the positions whose outputs are wanted. Before the final norm and the head, those rows are
/// selected; and the blocks already work on a suffix of the sequence, keeping the residual stream from a
/// start position on while their keys and values still cover every position. The last block starts at the
/// first wanted output (the same in every row): a training batch whose loss sits on the answer tokens at the
/// end of each row (Petrov et al.'s tasks: 10 of 19) skips most of it at the others. Every block starts after
/// the positions an attention-input prefix replaces at the next block's input (Petrov et al.'s prefix: P of
/// P + 19): what a block computes there besides keys and values is never read. Each block's input is padded
/// back to the whole sequence before the prefix is spliced in.
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

    /// <summary>
    /// Where each block's kept rows start: (the blocks before the last, the last); both 0 when every position
    /// is wanted. A cache still receives every position's keys and values.
    /// </summary>
    public static (int Blocks, int Last) Starts(ForwardOptions options, int seq, int replacedLeading)
    {
        int last = SuffixStart(options, seq);
        return (Math.Min(replacedLeading, last), last);
    }

    // x: [B, T - start, W] the rows start…T-1 -> [B, T, W] with zeros before them (x itself when start is 0)
    public static Tensor Padded(Tensor x, int start) =>
        start == 0 ? x : F.Concat([Tensor.Zeros(x.Shape[0], start, x.Shape[2]), x], 1);

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
