using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// One row of LayerNorm (or RMSNorm: no mean) forward and backward, fused: forward reads the row three times (sum,
/// squared deviations, output), backward twice (the row sums and parameter gradients, then dx), 8 lanes at a time
/// with a scalar tail, where a chain of separate vector primitives passed over it ten times. On a 256-wide row the
/// calls' own overhead was most of the cost. Compiled fully optimised from the first call, as the GEMM kernels are:
/// under tiering these loops measured 2–4× slower for the whole of a benchmark.
/// </summary>
internal static class NormRows
{
    // x, y: [C]; w, b: [C] or empty -> (mean, 1/std);  y = (x - mean)·rstd·w + b  (mean = 0 for RMS)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Mean, float Rstd) Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, float eps, bool rms)
    {
        int c = x.Length;
        ref float xr = ref MemoryMarshal.GetReference(x);
        float mean = rms ? 0f : Sum(ref xr, c) / c;
        float rstd = 1f / MathF.Sqrt(SquaredDeviations(ref xr, c, mean) / c + eps);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float br = ref MemoryMarshal.GetReference(b);
        bool hasW = !w.IsEmpty, hasB = !b.IsEmpty;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean); var rs = Vector256.Create(rstd);
            for (; j + 8 <= c; j += 8)
            {
                var t = (Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * rs;
                if (hasW) t *= Vector256.LoadUnsafe(ref wr, (nuint)j);
                if (hasB) t += Vector256.LoadUnsafe(ref br, (nuint)j);
                t.StoreUnsafe(ref yr, (nuint)j);
            }
        }
        for (; j < c; j++)
        {
            float t = (x[j] - mean) * rstd;
            if (hasW) t *= w[j];
            if (hasB) t += b[j];
            y[j] = t;
        }
        return (mean, rstd);
    }

    // x, g: [C] (input, output gradient), w: [C] or empty; gx: [C] or empty (no input gradient), written or accumulated;
    // dw, db: [C] or empty, accumulated.  x̂ = (x - mean)·rstd, d = g·w:
    //   dw += g·x̂,  db += g,  gx (+)= rstd·(d - mean(d) - x̂·mean(d·x̂))   (RMS: no mean(d) term)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, ReadOnlySpan<float> w, float mean, float rstd, bool rms,
        Span<float> gx, bool overwrite, Span<float> dw, Span<float> db)
    {
        int c = x.Length;
        ref float xr = ref MemoryMarshal.GetReference(x); ref float gr = ref MemoryMarshal.GetReference(g);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float dwr = ref MemoryMarshal.GetReference(dw); ref float dbr = ref MemoryMarshal.GetReference(db);
        bool hasW = !w.IsEmpty, needDw = !dw.IsEmpty, needDb = !db.IsEmpty, needDx = !gx.IsEmpty;
        float sumD = 0f, sumDx = 0f;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean); var rs = Vector256.Create(rstd);
            Vector256<float> sd = default, sdx = default;
            for (; j + 8 <= c; j += 8)
            {
                var xh = (Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * rs;
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)j);
                if (needDw) Vector256.FusedMultiplyAdd(gv, xh, Vector256.LoadUnsafe(ref dwr, (nuint)j)).StoreUnsafe(ref dwr, (nuint)j);
                if (needDb) (Vector256.LoadUnsafe(ref dbr, (nuint)j) + gv).StoreUnsafe(ref dbr, (nuint)j);
                if (!needDx) continue;
                var d = hasW ? gv * Vector256.LoadUnsafe(ref wr, (nuint)j) : gv;
                sd += d;
                sdx = Vector256.FusedMultiplyAdd(d, xh, sdx);
            }
            sumD = Vector256.Sum(sd); sumDx = Vector256.Sum(sdx);
        }
        for (; j < c; j++)
        {
            float xh = (x[j] - mean) * rstd;
            if (needDw) dw[j] += g[j] * xh;
            if (needDb) db[j] += g[j];
            if (!needDx) continue;
            float d = hasW ? g[j] * w[j] : g[j];
            sumD += d;
            sumDx += d * xh;
        }
        if (!needDx) return;
        float meanD = rms ? 0f : sumD / c, meanDx = sumDx / c;
        ref float gxr = ref MemoryMarshal.GetReference(gx);
        j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean); var rs = Vector256.Create(rstd);
            var md = Vector256.Create(meanD); var negMdx = Vector256.Create(-meanDx);
            for (; j + 8 <= c; j += 8)
            {
                var xh = (Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * rs;
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)j);
                var d = hasW ? gv * Vector256.LoadUnsafe(ref wr, (nuint)j) : gv;
                var t = Vector256.FusedMultiplyAdd(xh, negMdx, d - md);
                (overwrite ? t * rs : Vector256.FusedMultiplyAdd(t, rs, Vector256.LoadUnsafe(ref gxr, (nuint)j))).StoreUnsafe(ref gxr, (nuint)j);
            }
        }
        for (; j < c; j++)
        {
            float xh = (x[j] - mean) * rstd;
            float d = hasW ? g[j] * w[j] : g[j];
            float t = d - meanD - xh * meanDx;
            gx[j] = overwrite ? t * rstd : gx[j] + t * rstd;
        }
    }

    // Σ x[0..c)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Sum(ref float x, int c)
    {
        int j = 0;
        float s = 0f;
        if (Vector256.IsHardwareAccelerated && c >= 8)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; j + 16 <= c; j += 16) { a0 += Vector256.LoadUnsafe(ref x, (nuint)j); a1 += Vector256.LoadUnsafe(ref x, (nuint)(j + 8)); }
            for (; j + 8 <= c; j += 8) a0 += Vector256.LoadUnsafe(ref x, (nuint)j);
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < c; j++) s += Unsafe.Add(ref x, j);
        return s;
    }

    // Σ (x[0..c) - mean)²
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float SquaredDeviations(ref float x, int c, float mean)
    {
        int j = 0;
        float s = 0f;
        if (Vector256.IsHardwareAccelerated && c >= 8)
        {
            var m = Vector256.Create(mean);
            Vector256<float> a0 = default, a1 = default;
            for (; j + 16 <= c; j += 16)
            {
                var t0 = Vector256.LoadUnsafe(ref x, (nuint)j) - m; var t1 = Vector256.LoadUnsafe(ref x, (nuint)(j + 8)) - m;
                a0 = Vector256.FusedMultiplyAdd(t0, t0, a0); a1 = Vector256.FusedMultiplyAdd(t1, t1, a1);
            }
            for (; j + 8 <= c; j += 8) { var t = Vector256.LoadUnsafe(ref x, (nuint)j) - m; a0 = Vector256.FusedMultiplyAdd(t, t, a0); }
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < c; j++) { float t = Unsafe.Add(ref x, j) - mean; s += t * t; }
        return s;
    }
}
