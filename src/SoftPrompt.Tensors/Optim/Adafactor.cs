using System.Numerics.Tensors;

namespace SoftPrompt.Tensors.Optim;

/// <param name="Eps1">Added to g² (HF eps[0]).</param>
/// <param name="Eps2">Lower bound of the parameter scale (HF eps[1]).</param>
/// <param name="Beta1">First-moment decay; null keeps no first moment (the memory-saving default).</param>
public sealed record AdafactorOptions(
    double Eps1 = 1e-30, double Eps2 = 1e-3, double ClipThreshold = 1.0, double DecayRate = -0.8, double? Beta1 = null,
    bool ScaleParameter = true, bool RelativeStep = true, bool WarmupInit = false) : OptimizerOptions;

/// <summary>
/// Adafactor with the semantics of Hugging Face transformers' <c>Adafactor</c>. Per parameter p (gradient g, step t):
/// <code>
/// ρ = relative_step ? min(warmup_init ? 1e-6·t : 1e-2, 1/√t) : lr;   α = ρ · (scale_parameter ? max(eps2, RMS(p)) : 1)
/// β2t = 1 − t^decay_rate
/// rank ≥ 2 (factored over the last two dims):  R ← β2t·R + (1−β2t)·mean_cols(g² + eps1),  C ← β2t·C + (1−β2t)·mean_rows(g² + eps1)
///                                              u = g / √(R/mean(R) ⊗ C)
/// otherwise:                                   V ← β2t·V + (1−β2t)·(g² + eps1),  u = g / √V
/// u ← α · u / max(1, RMS(u)/clip_threshold);   with β1: m ← β1·m + (1−β1)·u, u = m
/// p ← p − wd·α·p − u
/// </code>
/// State: <c>exp_avg_sq_row</c> and <c>exp_avg_sq_col</c> (factored) or <c>exp_avg_sq</c>, and <c>exp_avg</c> with β1.
/// The update is applied in two passes over the gradient (one for RMS(u), one to apply it), so no
/// parameter-sized scratch is needed.
/// </summary>
public sealed class Adafactor : Optimizer
{
    readonly float[]?[] _expAvg, _row, _col, _sq;
    readonly float[] _colFactor, _rowScratch;   // [max columns of a factored parameter]

    /// <param name="lr">Only without <paramref name="relativeStep"/>; with it the step size is computed from the step count.</param>
    public Adafactor(IEnumerable<Tensor> parameters, double? lr = null, double eps1 = 1e-30, double eps2 = 1e-3, double clipThreshold = 1.0,
        double decayRate = -0.8, double? beta1 = null, double weightDecay = 0, bool scaleParameter = true, bool relativeStep = true, bool warmupInit = false)
        : this([new ParamGroup(parameters)], lr, new AdafactorOptions(eps1, eps2, clipThreshold, decayRate, beta1, scaleParameter, relativeStep, warmupInit), weightDecay) { }

    public Adafactor(IEnumerable<ParamGroup> groups, double? lr = null, AdafactorOptions? defaults = null, double weightDecay = 0)
        : base(groups, lr ?? 0, weightDecay, defaults ?? new AdafactorOptions())
    {
        int n = ParameterCount, maxCols = 0;
        _expAvg = new float[n][]; _row = new float[n][]; _col = new float[n][]; _sq = new float[n][];
        for (int g = 0; g < Groups.Count; g++)
        {
            var group = Groups[g];
            var o = (AdafactorOptions)group.Options;
            bool hasLr = group.RequestedLr is not null || lr is not null;
            if (o.RelativeStep && hasLr) throw new ArgumentException($"Adafactor: cannot combine a manual lr and RelativeStep (group {g}).");
            if (!o.RelativeStep && !hasLr) throw new ArgumentException($"Adafactor: without RelativeStep an lr is needed (group {g}).");
            if (o.WarmupInit && !o.RelativeStep) throw new ArgumentException($"Adafactor: WarmupInit requires RelativeStep (group {g}).");
            for (int j = 0; j < group.Parameters.Count; j++)
            {
                var p = group.Parameters[j];
                int i = GlobalIndex(g, j);
                if (o.Beta1 is not null) _expAvg[i] = AddState(i, "exp_avg", p.Length);
                if (p.Rank >= 2)
                {
                    int cols = p.Shape[^1];
                    _row[i] = AddState(i, "exp_avg_sq_row", p.Length / Math.Max(1, cols));
                    _col[i] = AddState(i, "exp_avg_sq_col", p.Length / Math.Max(1, p.Shape[^2]));
                    maxCols = Math.Max(maxCols, cols);
                }
                else _sq[i] = AddState(i, "exp_avg_sq", p.Length);
            }
        }
        _colFactor = new float[maxCols];
        _rowScratch = new float[maxCols];
    }

    public override void Step()
    {
        for (int g = 0; g < Groups.Count; g++)
        {
            var group = Groups[g];
            var o = (AdafactorOptions)group.Options;
            for (int j = 0; j < group.Parameters.Count; j++)
            {
                var p = group.Parameters[j];
                if (p.Grad is null) continue;
                int i = GlobalIndex(g, j);
                long step = ++Steps[i];
                double rho = o.RelativeStep ? Math.Min(o.WarmupInit ? 1e-6 * step : 1e-2, 1.0 / Math.Sqrt(step)) : group.Lr;
                double alpha = rho * (o.ScaleParameter ? Math.Max(o.Eps2, Rms(p.Span)) : 1.0);
                double beta2t = 1.0 - Math.Pow(step, o.DecayRate);
                if (_row[i] is { } row) StepFactored(p, row, _col[i]!, _expAvg[i], o, group.WeightDecay, alpha, beta2t);
                else StepUnfactored(p, _sq[i]!, _expAvg[i], o, group.WeightDecay, alpha, beta2t);
            }
        }
    }

    // p, g viewed as [B, R, C]; row: [B, R], col: [B, C]
    void StepFactored(Tensor p, float[] rowState, float[] colState, float[]? expAvg, AdafactorOptions o, double wd, double alpha, double beta2t)
    {
        int cols = p.Shape[^1], rows = p.Shape[^2], batch = p.Length / Math.Max(1, rows * cols);
        ReadOnlySpan<float> gs = p.Grad!.Span;
        var acc = _colFactor.AsSpan(0, cols); var tmp = _rowScratch.AsSpan(0, cols);
        float b2 = (float)beta2t, oneMinusB2 = (float)(1.0 - beta2t), eps1 = (float)o.Eps1;
        // Second-moment statistics: means over each row and each column of g² + eps1.
        for (int b = 0; b < batch; b++)
        {
            var rowS = rowState.AsSpan(b * rows, rows); var colS = colState.AsSpan(b * cols, cols);
            acc.Clear();
            for (int r = 0; r < rows; r++)
            {
                var gr = gs.Slice((b * rows + r) * cols, cols);
                TensorPrimitives.Multiply(gr, gr, tmp);
                TensorPrimitives.Add(acc, tmp, acc);
                rowS[r] = b2 * rowS[r] + oneMinusB2 * (TensorPrimitives.Sum(tmp) / cols + eps1);
            }
            TensorPrimitives.Divide(acc, rows, acc);
            TensorPrimitives.Add(acc, eps1, acc);
            TensorPrimitives.Multiply(colS, b2, colS);
            TensorPrimitives.MultiplyAdd(acc, oneMinusB2, colS, colS);
        }
        // u[r, c] = g[r, c] · rsqrt(R[r] / mean(R)) · rsqrt(C[c]): pass 1 measures RMS(u), pass 2 applies it.
        double sumSq = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            float scale = 1f;
            if (pass == 1)
            {
                double rmsU = Math.Sqrt(sumSq / p.Length);
                scale = (float)(alpha / Math.Max(1.0, rmsU / o.ClipThreshold));
            }
            for (int b = 0; b < batch; b++)
            {
                var rowS = rowState.AsSpan(b * rows, rows);
                float rowMean = TensorPrimitives.Sum(rowS) / rows;
                TensorPrimitives.ReciprocalSqrt(colState.AsSpan(b * cols, cols), acc);
                for (int r = 0; r < rows; r++)
                {
                    int at = (b * rows + r) * cols;
                    float rf = 1f / MathF.Sqrt(rowS[r] / rowMean);
                    TensorPrimitives.Multiply(gs.Slice(at, cols), acc, tmp);
                    if (pass == 0) { sumSq += (double)rf * rf * TensorPrimitives.SumOfSquares(tmp); continue; }
                    TensorPrimitives.Multiply(tmp, rf * scale, tmp);
                    Apply(p.Span.Slice(at, cols), tmp, expAvg is null ? default : expAvg.AsSpan(at, cols), expAvg is not null, o, wd, alpha);
                }
            }
        }
    }

    void StepUnfactored(Tensor p, float[] sq, float[]? expAvg, AdafactorOptions o, double wd, double alpha, double beta2t)
    {
        ReadOnlySpan<float> gs = p.Grad!.Span;
        Span<float> tmp = stackalloc float[Chunk];
        float b2 = (float)beta2t, oneMinusB2 = (float)(1.0 - beta2t), eps1 = (float)o.Eps1;
        double sumSq = 0;
        for (int s = 0; s < gs.Length; s += Chunk)
        {
            int len = Math.Min(Chunk, gs.Length - s);
            var gc = gs.Slice(s, len); var v = sq.AsSpan(s, len); var t = tmp[..len];
            TensorPrimitives.Multiply(gc, gc, t);
            TensorPrimitives.Add(t, eps1, t);
            TensorPrimitives.Multiply(v, b2, v);
            TensorPrimitives.MultiplyAdd(t, oneMinusB2, v, v);
            TensorPrimitives.ReciprocalSqrt(v, t);
            TensorPrimitives.Multiply(t, gc, t);
            sumSq += TensorPrimitives.SumOfSquares(t);
        }
        float scale = (float)(alpha / Math.Max(1.0, Math.Sqrt(sumSq / gs.Length) / o.ClipThreshold));
        for (int s = 0; s < gs.Length; s += Chunk)
        {
            int len = Math.Min(Chunk, gs.Length - s);
            var t = tmp[..len];
            TensorPrimitives.ReciprocalSqrt(sq.AsSpan(s, len), t);
            TensorPrimitives.Multiply(t, gs.Slice(s, len), t);
            TensorPrimitives.Multiply(t, scale, t);
            Apply(p.Span.Slice(s, len), t, expAvg is null ? default : expAvg.AsSpan(s, len), expAvg is not null, o, wd, alpha);
        }
    }

    /// <summary>Given the scaled update u: the optional first moment, weight decay, then p −= u.</summary>
    static void Apply(Span<float> p, Span<float> u, Span<float> m, bool useFirstMoment, AdafactorOptions o, double wd, double alpha)
    {
        if (useFirstMoment)
        {
            float beta1 = (float)o.Beta1!.Value;
            TensorPrimitives.Multiply(m, beta1, m);
            TensorPrimitives.MultiplyAdd(u, 1f - beta1, m, m);
            u = m;
        }
        if (wd != 0) TensorPrimitives.Multiply(p, (float)(1.0 - wd * alpha), p);
        TensorPrimitives.Subtract(p, u, p);
    }

    /// <summary>Root mean square, accumulated in double.</summary>
    static double Rms(ReadOnlySpan<float> x)
    {
        double sum = 0;
        for (int s = 0; s < x.Length; s += Chunk) sum += TensorPrimitives.SumOfSquares(x.Slice(s, Math.Min(Chunk, x.Length - s)));
        return x.Length == 0 ? 0 : Math.Sqrt(sum / x.Length);
    }
}
