using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The input sequences of the synthetic tasks: <see cref="Length"/> digits drawn uniformly from
/// 0–<see cref="MaxDigit"/>. Half of the samples (a fair coin per sample) are rejection-sampled to
/// have at most <see cref="MaxDistinctInRestrictedHalf"/> distinct values, as in the authors' code,
/// so that repeated values — which sorting and the histogram must handle — are common.
/// A sequence of ten equal digits is redrawn in both halves (probability below 1e-7): its histogram
/// would be 10, outside the 10-token vocabulary 0–9.
/// </summary>
public static class DigitSequences
{
    public const int Length = 10;
    public const int MaxDigit = 7;
    public const int VocabSize = 10;
    public const int MaxDistinctInRestrictedHalf = 5;

    /// <summary>Fills <paramref name="digits"/> (<see cref="Length"/> of them); returns whether this sample came from the restricted (≤ 5 distinct) half.</summary>
    public static bool Sample(Rng rng, Span<int> digits)
    {
        if (digits.Length != Length) throw new ArgumentException($"A sequence has {Length} digits, got room for {digits.Length}.");
        bool restricted = rng.NextInt(2) == 0;
        int distinct;
        do
        {
            for (int i = 0; i < digits.Length; i++) digits[i] = rng.NextInt(MaxDigit + 1);
            distinct = Distinct(digits);
        } while (distinct == 1 || (restricted && distinct > MaxDistinctInRestrictedHalf));
        return restricted;
    }

    /// <summary>Number of distinct values among digits 0–9.</summary>
    public static int Distinct(ReadOnlySpan<int> digits)
    {
        int seen = 0;
        foreach (int d in digits) seen |= 1 << d;
        return int.PopCount(seen);
    }
}
