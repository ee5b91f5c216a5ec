using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Finite-difference gradient check in float32. For loss L = Σ y·w (w random, accumulated in
/// double), each element x_j of every input with RequiresGrad is moved to x_j ± eps and
/// ∂L/∂x_j ≈ (L₊ − L₋)/(x₊ − x₋) (the actual float32 step) is compared with autograd:
/// <code>|numeric − analytic| ≤ atol·max(1, max|analytic|) + rtol·|analytic|</code>
/// with eps = 1e-2, rtol = 1e-2, atol = 2e-3: loose enough for float32 rounding (~1e-7·|L|/eps)
/// and the O(eps²) truncation error, tight enough to catch a wrong term, factor or missing path.
/// </summary>
public static class GradCheck
{
    public const float Eps = 1e-2f;
    public const double RTol = 1e-2, ATol = 2e-3;

    /// <summary>Null when every gradient agrees; otherwise a message naming the worst element.</summary>
    public static string? Check(Func<Tensor[], Tensor> f, Tensor[] inputs, ulong seed = 7, float eps = Eps, double rtol = RTol, double atol = ATol)
    {
        Tape.Clear();
        foreach (var t in inputs) t.ZeroGrad();
        var y = f(inputs);
        if (!y.RequiresGrad) return "output does not require grad";
        var w = new float[y.Length];
        new Rng(seed).FillNormal(w, 0f, 1f);
        y.Backward(Tensor.FromArray(w, y.Shape.ToArray()));
        var analytic = inputs.Select(t => t.RequiresGrad ? t.Grad?.ToArray() : null).ToArray();

        string? worst = null;
        double worstExcess = 0;
        using (Tape.NoGrad())
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                var x = inputs[i];
                if (!x.RequiresGrad) continue;
                var a = analytic[i];
                if (a is null) return $"input {i} ({Tensor.Format(x.Shape)}) got no gradient";
                double scale = Math.Max(1.0, a.Max(v => Math.Abs((double)v)));
                var xs = x.Span;
                for (int j = 0; j < x.Length; j++)
                {
                    float v = xs[j];
                    float xp = v + eps, xm = v - eps;
                    xs[j] = xp; double lp = Loss(f(inputs), w);
                    xs[j] = xm; double lm = Loss(f(inputs), w);
                    xs[j] = v;
                    double num = (lp - lm) / ((double)xp - xm);
                    double diff = Math.Abs(num - a[j]);
                    double allowed = atol * scale + rtol * Math.Abs(a[j]);
                    if (!(diff <= allowed) && (worst is null || diff - allowed > worstExcess))
                    {
                        worstExcess = diff - allowed;
                        worst = $"input {i} {Tensor.Format(x.Shape)} element {j}: numeric {num:G6}, autograd {a[j]:G6} (|diff| {diff:e2} > allowed {allowed:e2})";
                    }
                }
            }
        }
        Tape.Clear();
        return worst;
    }

    static double Loss(Tensor y, float[] w)
    {
        var s = y.Span;
        double l = 0;
        for (int i = 0; i < s.Length; i++) l += (double)s[i] * w[i];
        return l;
    }

    public static void Assert(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        string? failure = Check(f, inputs);
        if (failure is not null) Xunit.Assert.Fail("gradient check failed: " + failure);
    }
}
