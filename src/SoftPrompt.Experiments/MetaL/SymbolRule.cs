namespace SoftPrompt.Experiments.MetaL;

/// <summary>How a rule reorders the mapped symbols: output position i takes input position Source(i).</summary>
public enum SymbolOrder { Identity, Reverse, RotateLeft, RotateRight, RotateLeft2, SwapPairs }

/// <summary>
/// One task of the symbol world: an elementwise map of the alphabet (a permutation) composed with an order operation,
/// y_i = Map[x_{Source(i)}]. Its rule must be read from demonstrations: nothing in an input says which map applies.
/// </summary>
public sealed record SymbolRule(int[] Map, SymbolOrder Order)
{
    /// <summary>"dbhaegcf-reverse": the map as the images of a…h, then the order.</summary>
    public string Name => $"{new string([.. Map.Select(SymbolWorld.Char)])}-{Order.ToString().ToLowerInvariant()}";

    public static int Source(SymbolOrder order, int i, int n) => order switch
    {
        SymbolOrder.Identity => i,
        SymbolOrder.Reverse => n - 1 - i,
        SymbolOrder.RotateLeft => (i + 1) % n,
        SymbolOrder.RotateRight => (i + n - 1) % n,
        SymbolOrder.RotateLeft2 => (i + 2) % n,
        SymbolOrder.SwapPairs => i % 2 == 0 ? (i + 1 < n ? i + 1 : i) : i - 1,   // (0 1)(2 3)…, an odd last stays
        _ => throw new ArgumentOutOfRangeException(nameof(order)),
    };

    public int[] Apply(int[] x) => [.. Enumerable.Range(0, x.Length).Select(i => Map[x[Source(Order, i, x.Length)]])];
}
