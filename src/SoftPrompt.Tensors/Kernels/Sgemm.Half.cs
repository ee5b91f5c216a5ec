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
        Span<float> c, int ldc, float alpha = 1f, float beta = 0f)
    {
        if (bDtype is not (WeightDtype.BF16 or WeightDtype.F16))
            throw new ArgumentException($"MultiplyHalfB: B must be BF16 or F16, got {bDtype}.", nameof(bDtype));
        CheckOperand("A", transA ? k : m, transA ? m : k, lda, a.Length, 0, 1);
        CheckOperand("B", transB ? n : k, transB ? k : n, ldb, b.Length, 0, 1);
        CheckOperand("C", m, n, ldc, c.Length, 0, 1);
        if (m == 0 || n == 0) return;

        fixed (float* pa = a)
        fixed (ushort* pb = b)
        fixed (float* pc = c)
        {
            var g = new GemmArgs(transA, transB, m, n, k, pa, lda, null, ldb, pc, ldc, alpha, beta)
            {
                BHalf = pb,
                BHalfIsBf16 = bDtype == WeightDtype.BF16,
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
        if (g.BHalfIsBf16) HalfGemvJob<Bf16>.Run(in g, parallel);
        else HalfGemvJob<F16>.Run(in g, parallel);
    }

    /// <summary>
    /// y[n] = alpha * x[k]·op(B) + beta * y with B 16-bit: the float32 <see cref="GemvJob"/> with each
    /// matrix load widened. Same chunking and accumulation order as the float32 job.
    /// </summary>
    sealed unsafe class HalfGemvJob<TW> : IParallelJob where TW : struct, IWiden
    {
        [ThreadStatic] static HalfGemvJob<TW>? t_job;

        bool _dot;
        ushort* _matrix;
        float* _x, _y;
        nint _ld;
        int _length, _k, _units, _tasks;
        float _alpha, _beta;

        public static void Run(in GemmArgs g, bool parallel)
        {
            var job = t_job ??= new HalfGemvJob<TW>();
            int k = g.K;
            // m == 1: x = op(A) row (k), y = C row (n); B [k,n] -> axpy, B^T (stored [n,k]) -> dot.
            job._dot = g.TransB;
            job._matrix = g.BHalf; job._ld = g.Ldb; job._length = g.N;
            job._y = g.C;
            float* x = g.A;
            if (g.TransA && g.Lda != 1)
            {
                float* xs = ThreadScratch.B.Get(k);
                for (int p = 0; p < k; p++) xs[p] = x[p * g.Lda];
                x = xs;
            }
            job._x = x; job._k = k;
            job._alpha = g.Alpha; job._beta = g.Beta;
            job._units = job._dot ? job._length : (job._length + AxpyWidth - 1) / AxpyWidth;
            long flops = 2L * job._length * k;
            job._tasks = parallel && flops >= ParallelMinFlops ? Math.Min(job._units, WorkerPool.ThreadCount * 4) : 1;
            try
            {
                if (job._tasks > 1) WorkerPool.Run(job, job._tasks);
                else job.Execute(0);
            }
            finally { job._matrix = null; job._x = null; job._y = null; }
        }

        public void Execute(int index)
        {
            var (u0, u1) = WorkerPool.Chunk(index, _tasks, _units);
            if (_dot) DotRows(u0, u1);
            else for (int u = u0; u < u1; u++) AxpyBlock(u * AxpyWidth, Math.Min(AxpyWidth, _length - u * AxpyWidth));
        }

        void Store(int i, float sum)
        {
            float* y = _y + i;
            *y = _beta == 0f ? _alpha * sum : _alpha * sum + _beta * *y;
        }

        /// <summary>y[i] = dot(widen(M[i,:]), x) for i in [i0, i1), four rows at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows(int i0, int i1)
        {
            int k = _k;
            float* x = _x;
            int i = i0;
            for (; i + 4 <= i1; i += 4)
            {
                ushort* r0 = _matrix + i * _ld, r1 = r0 + _ld, r2 = r1 + _ld, r3 = r2 + _ld;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    Vector256<float> xv = Vector256.Load(x + p);
                    s0 = Vector256.FusedMultiplyAdd(TW.Widen8(r0 + p), xv, s0);
                    s1 = Vector256.FusedMultiplyAdd(TW.Widen8(r1 + p), xv, s1);
                    s2 = Vector256.FusedMultiplyAdd(TW.Widen8(r2 + p), xv, s2);
                    s3 = Vector256.FusedMultiplyAdd(TW.Widen8(r3 + p), xv, s3);
                }
                float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    t0 += TW.Widen1(r0[p]) * x[p]; t1 += TW.Widen1(r1[p]) * x[p];
                    t2 += TW.Widen1(r2[p]) * x[p]; t3 += TW.Widen1(r3[p]) * x[p];
                }
                Store(i, t0); Store(i + 1, t1); Store(i + 2, t2); Store(i + 3, t3);
            }
            for (; i < i1; i++)
            {
                ushort* r = _matrix + i * _ld;
                Vector256<float> s = default;
                int p = 0;
                for (; p + 8 <= k; p += 8) s = Vector256.FusedMultiplyAdd(TW.Widen8(r + p), Vector256.Load(x + p), s);
                float t = Vector256.Sum(s);
                for (; p < k; p++) t += TW.Widen1(r[p]) * x[p];
                Store(i, t);
            }
        }

        /// <summary>y[j0 .. j0+w) += x[p] * widen(M[p, j0 .. j0+w)) over all p; w ≤ 64.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void AxpyBlock(int j0, int w)
        {
            float* x = _x;
            ushort* col = _matrix + j0;
            int k = _k;
            if (w == AxpyWidth)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
                for (int p = 0; p < k; p++, col += _ld)
                {
                    Vector256<float> xp = Vector256.Create(x[p]);
                    a0 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col), a0);
                    a1 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 24), a3);
                    a4 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 32), a4);
                    a5 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 40), a5);
                    a6 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 48), a6);
                    a7 = Vector256.FusedMultiplyAdd(xp, TW.Widen8(col + 56), a7);
                }
                float* acc = stackalloc float[AxpyWidth];
                a0.Store(acc); a1.Store(acc + 8); a2.Store(acc + 16); a3.Store(acc + 24);
                a4.Store(acc + 32); a5.Store(acc + 40); a6.Store(acc + 48); a7.Store(acc + 56);
                for (int j = 0; j < AxpyWidth; j++) Store(j0 + j, acc[j]);
                return;
            }
            float* tail = stackalloc float[AxpyWidth];
            new Span<float>(tail, w).Clear();
            int wv = w & ~7;
            for (int p = 0; p < k; p++, col += _ld)
            {
                float xp = x[p];
                int j = 0;
                for (; j < wv; j += 8)
                    Vector256.FusedMultiplyAdd(Vector256.Create(xp), TW.Widen8(col + j), Vector256.Load(tail + j)).Store(tail + j);
                for (; j < w; j++) tail[j] += xp * TW.Widen1(col[j]);
            }
            for (int j = 0; j < w; j++) Store(j0 + j, tail[j]);
        }
    }
}
