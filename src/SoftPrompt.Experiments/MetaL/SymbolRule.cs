namespace SoftPrompt.Experiments.MetaL;

/// <summary>How a rule reorders the mapped symbols: output position i takes input position Source(i).</summary>
public enum SymbolOrder { Identity, Reverse, RotateLeft, RotateRight, RotateLeft2, SwapPairs }

/// <summary>
/// One task of the symbol world: an elementwise map of the alphabet onto the images (a permutation: a…h → A…H)
/// composed with an order operation. The output takes the input's symbols in the order's sequence, each written with its
/// image as one pair token: "abcde" under the identity order → "aXbXcXdXeX" (five tokens, each X the symbol's image).
/// Its rule must be read from demonstrations: nothing in an input says which map applies.
/// </summary>
public sealed record SymbolRule(int[] Map, SymbolOrder Order)
{
    /// <summary>"dbhaegcf-reverse": the map as the images of a…h (lower case), then the order.</summary>
    public string Name => $"{SymbolWorld.Text(Map)}-{Order.ToString().ToLowerInvariant()}";

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

    /// <summary>The output: for each output position i, the pair token (x_{Source(i)}, Map[x_{Source(i)}]).</summary>
    public int[] Apply(int[] x)
    {
        var y = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int s = x[Source(Order, i, x.Length)];
            y[i] = SymbolWorld.Pair(s, Map[s]);
        }
        return y;
    }
}
