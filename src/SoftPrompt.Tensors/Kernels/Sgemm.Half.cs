using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    // B as 16-bit floats (bf16 or f16 bits: a frozen weight stored at half size). The product runs
    // the float32 machinery unchanged; only the places that read B widen it:
    //   packing  B panel [kc][NR] <- widen(B)   (PackCopyHalf / PackTranspose<ushort, Widened<TW>>, both layouts)
    //   gemv     m == 1: y = x·op(B) straight from the 16-bit rows (HalfGemvJob, dot and axpy forms)
    //            n == 1: op(B) is one column: widened into scratch, then the float32 gemv
    // Widening is exact, and the packed panel / the gemv accumulation order are the float32 ones,
    // so the result is bitwise the float32 result on the widened matrix.

    /// <summary>
    /// <c>C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C</c> with B given as 16-bit floats
    /// (<paramref name="bDtype"/> BF16 or F16), widened to float32 as it is packed. Layouts as
    /// <see cref="Multiply"/>: B stored [k,n] or, with <paramref name="transB"/>, [n,k], row stride <paramref name="ldb"/>.
    /// </summary>
    public static unsafe void MultiplyHalfB(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<ushort> b, WeightDtype bDtype, int ldb,
        Span<float> c, int ldc, float alpha = 1f, float beta = 0f, ReadOnlySpan<float> bias = default)
    {
        if (bDtype is not (WeightDtype.BF16 or WeightDtype.F16))
            throw new ArgumentException($"MultiplyHalfB: B must be BF16 or F16, got {bDtype}.", nameof(bDtype));
        CheckOperand("A", transA ? k : m, transA ? m : k, lda, a.Length, 0, 1);
        CheckOperand("B", transB ? n : k, transB ? k : n, ldb, b.Length, 0, 1);
        CheckOperand("C", m, n, ldc, c.Length, 0, 1);
        CheckBias(bias, n, beta);
        if (m == 0 || n == 0) return;

        fixed (float* pa = a)
        fixed (ushort* pb = b)
        fixed (float* pc = c)
        fixed (float* pbias = bias)
        {
            var g = new GemmArgs(transA, transB, m, n, k, pa, lda, null, ldb, pc, ldc, alpha, beta)
            {
                BHalf = pb,
                BHalfIsBf16 = bDtype == WeightDtype.BF16,
                Bias = bias.IsEmpty ? null : pbias,
            };
            Execute(in g, parallel: true);
        }
    }

    /// <summary>Packs B micro-panel [kc][nr] at column j (valid columns, zero past them) from 16-bit B.</summary>
    static unsafe void PackHalfBPanel(in GemmArgs g, float* dst, int j, int valid, int pc, int kc, int nr)
    {
        if (g.BHalfIsBf16) PackHalfBPanel<Bf16>(in g, dst, j, valid, pc, kc, nr);
        else PackHalfBPanel<F16>(in g, dst, j, valid, pc, kc, nr);
    }

    static unsafe void PackHalfBPanel<TW>(in GemmArgs g, float* dst, int j, int valid, int pc, int kc, int nr) where TW : struct, IWiden
    {
        if (g.TransB) // B stored [n,k]: step p is column pc+p of rows j..j+nr
            PackTranspose<ushort, Widened<TW>>(dst, g.BHalf + (nint)j * g.Ldb + pc, g.Ldb, nr, valid, kc);
        else          // B stored [k,n]: step p is row pc+p, columns j..j+nr (contiguous)
            PackCopyHalf<TW>(dst, g.BHalf + (nint)pc * g.Ldb + j, g.Ldb, nr, valid, kc);
    }

    /// <summary>As <see cref="PackCopy"/>, widening: panel value (p, r) = widen(src[p*ld + r]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackCopyHalf<TW>(float* dst, ushort* src, nint ld, int w, int valid, int kc) where TW : struct, IWiden
    {
        if (valid == w && w == 32 && Vector512.IsHardwareAccelerated)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += 32)
            {
                TW.Widen16(src).Store(dst);
                TW.Widen16(src + 16).Store(dst + 16);
            }
            return;
        }
        for (int p = 0; p < kc; p++, src += ld, dst += w)
        {
            int r = 0;
            for (; r + 8 <= valid; r += 8) TW.Widen8(src + r).Store(dst + r);
            for (; r < valid; r++) dst[r] = TW.Widen1(src[r]);
            for (; r < w; r++) dst[r] = 0f;
        }
    }

    /// <summary>m == 1 or n == 1 with a 16-bit B (decoding one token: x[1,C]·W).</summary>
    static unsafe void ExecuteGemvHalf(in GemmArgs g, bool parallel)
    {
        if (g.M != 1)
        {
            // n == 1: op(B) is a column of k values. Widen it into the calling thread's B buffer
            // (unused on the gemv path) and run the float32 matrix-vector product with it.
            int k = g.K;
            float* xs = ThreadScratch.B.Get(k);
            nint inc = g.TransB ? 1 : g.Ldb;
            if (g.BHalfIsBf16) for (int p = 0; p < k; p++) xs[p] = HalfFloat.BFloat16ToSingle(g.BHalf[p * inc]);
            else for (int p = 0; p < k; p++) xs[p] = HalfFloat.Float16ToSingle(g.BHalf[p * inc]);
            GemmArgs gf = g;
            gf.BHalf = null;
            gf.B = xs; gf.TransB = true; gf.Ldb = k;   // B^T stored [1, k]: x read contiguously
            ExecuteGemv(in gf, parallel);
            return;
        }
        if (g.BHalfIsBf16) GemvHalfRow<Bf16>(in g, parallel);
        else GemvHalfRow<F16>(in g, parallel);
    }

    /// <summary>m == 1: x = op(A) row (k), y = C row (n); B [k,n] -> axpy, B^T (stored [n,k]) -> dot; B widened on load.</summary>
    static unsafe void GemvHalfRow<TW>(in GemmArgs g, bool parallel) where TW : struct, IWiden =>
        GemvJob<ushort, Widened<TW>>.Run(g.TransB, g.BHalf, g.Ldb, g.N, Contiguous(g.A, g.TransA ? g.Lda : 1, g.K), g.K, g.C, 1, g.Alpha, g.Beta, parallel);
}
