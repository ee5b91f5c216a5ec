namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The deterministic train/test split: a sequence is a test item when the 32-bit FNV-1a hash of its
/// digits (one byte each) is divisible by 4, about 25% of all sequences, whatever the seed or task,
/// so no input seen in training is ever scored.
/// </summary>
public static class TestSplit
{
    const uint FnvOffset = 2166136261, FnvPrime = 16777619;

    public static uint Hash(ReadOnlySpan<int> digits)
    {
        uint h = FnvOffset;
        foreach (int d in digits) h = (h ^ (byte)d) * FnvPrime;
        return h;
    }

    public static bool IsTest(ReadOnlySpan<int> digits) => Hash(digits) % 4 == 0;
}
