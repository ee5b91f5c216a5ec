namespace SoftPrompt.Tensors.Tests.Fixtures;

/// <summary>
/// Value comparison used by every fixture test. The relative error of <c>actual</c> against
/// <c>expected</c> is
/// <code>  max_i |a_i − e_i| / max(|e_i|, 1e-2 · max_j |e_j|)</code>
/// i.e. elementwise relative error, with elements much smaller than the tensor's largest
/// judged relative to 1 % of that largest (float32 cancellation makes their own relative
/// error meaningless; PyTorch's own float32 results miss a 1e-3 floor by up to 5e-4 on
/// GELU gradients, see tools/make_tensor_fixtures.py --calibrate). A tensor whose expected
/// values are all ≤ 1e-6 is analytically zero: it passes when max |a_i| ≤ 1e-4.
/// </summary>
public static class Compare
{
    public const double FloorFraction = 1e-2;
    public const double ZeroTensor = 1e-6;
    public const double ZeroTolerance = 1e-4;

    public readonly record struct Result(double Error, int Index, float Actual, float Expected, bool AllZero);

    public static Result RelErr(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"lengths differ: {actual.Length} vs {expected.Length}");
        double maxE = 0;
        foreach (float e in expected) maxE = Math.Max(maxE, Math.Abs((double)e));
        if (maxE <= ZeroTensor)
        {
            double worst = 0; int at = -1;
            for (int i = 0; i < actual.Length; i++)
            {
                double d = float.IsFinite(actual[i]) ? Math.Abs((double)actual[i]) : double.PositiveInfinity;
                if (at < 0 || d > worst) { worst = d; at = i; }
            }
            return new Result(worst, Math.Max(at, 0), at < 0 ? 0 : actual[at], at < 0 ? 0 : expected[at], true);
        }
        double floor = FloorFraction * maxE, err = 0; int idx = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            double r = float.IsFinite(actual[i]) ? d / Math.Max(Math.Abs((double)expected[i]), floor) : double.PositiveInfinity;
            if (r > err || (i == 0 && r >= err)) { err = r; idx = i; }
        }
        return new Result(err, idx, actual.Length == 0 ? 0 : actual[idx], expected.Length == 0 ? 0 : expected[idx], false);
    }

    /// <summary>Asserts the relative error is within <paramref name="tol"/>; the failure names <paramref name="what"/> and the worst element.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tol, string what)
    {
        if (actual.Length != expected.Length)
            Assert.Fail($"{what}: {actual.Length} values, expected {expected.Length}.");
        var r = RelErr(actual, expected);
        if (r.AllZero)
        {
            if (!(r.Error <= ZeroTolerance))
                Assert.Fail($"{what}: expected an (analytically) zero tensor, got |value| {r.Error:e3} > {ZeroTolerance:e0} at flat index {r.Index}.");
            return;
        }
        if (!(r.Error <= tol))
            Assert.Fail($"{what}: max relative error {r.Error:e3} > {tol:e0} at flat index {r.Index} (actual {r.Actual:R}, expected {r.Expected:R}).");
    }

    public static void Close(Tensor actual, Tensor expected, double tol, string what)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape))
            Assert.Fail($"{what}: shape {Tensor.Format(actual.Shape)}, expected {Tensor.Format(expected.Shape)}.");
        Close(actual.Span, expected.Span, tol, what);
    }
}
