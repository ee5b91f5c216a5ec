using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    // m == 1 or n == 1 (token-by-token decoding: x[1,C]·W^T, the LM head) is a matrix-vector
    // product: memory-bound, every matrix element used once. Packing would read and write the
    // matrix once more before the kernel reads it again, so these go straight from the operands.
    // Both cases reduce to y[len] = alpha * M·x + beta * y with M read in one of two forms:
    //   dot:  M stored [len, k]  (row i contiguous along k):  y[i] = dot(M[i,:], x)
    //   axpy: M stored [k, len]  (row p contiguous along out): y += x[p] * M[p,:]
    //   m == 1: x = op(A) row (k), y = C row (n);    B [k,n] -> axpy,  B^T (stored [n,k]) -> dot
    //   n == 1: x = op(B) col (k), y = C col (m);    A [m,k] -> dot,   A^T (stored [k,m]) -> axpy

    /// <summary>Output elements per axpy task chunk: 8 ymm accumulators.</summary>
    const int AxpyWidth = 64;

    static unsafe void ExecuteGemv(in GemmArgs g, bool parallel)
    {
        if (g.BHalf != null)
        {
            ExecuteGemvHalf(in g, parallel);
            return;
        }
        int k = g.K;
        float* x, matrix;
        nint incX, ld, incY;
        bool dot;
        int length;
        if (g.M == 1)
        {
            dot = g.TransB; matrix = g.B; ld = g.Ldb; length = g.N; incY = 1;
            x = g.A; incX = g.TransA ? g.Lda : 1;
        }
        else
        {
            dot = !g.TransA; matrix = g.A; ld = g.Lda; length = g.M; incY = g.Ldc;
            x = g.B; incX = g.TransB ? 1 : g.Ldb;
        }
        GemvJob<float, Float32Source>.Run(dot, matrix, ld, length, Contiguous(x, incX, k), k, g.C, incY, g.Alpha, g.Beta, parallel);
    }

    /// <summary>x itself when contiguous, else gathered into the calling thread's B buffer (unused on the gemv path).</summary>
    static unsafe float* Contiguous(float* x, nint incX, int k)
    {
        if (incX == 1) return x;
        float* xs = ThreadScratch.B.Get(k);
        for (int p = 0; p < k; p++) xs[p] = x[p * incX];
        return xs;
    }

    /// <summary>
    /// y[length] = alpha * M·x + beta * y with M's elements of type <typeparamref name="T"/> read as float32 by
    /// <typeparamref name="TS"/> (float32 itself, or a 16-bit format widened on load: one code, compiled per source).
    /// A chunk of output rows (dot form) or of 64-wide output column blocks (axpy form) per task.
    /// </summary>
    sealed unsafe class GemvJob<T, TS> : IParallelJob where T : unmanaged where TS : struct, IPanelSource<T>
    {
        [ThreadStatic] static GemvJob<T, TS>? t_job;

        bool _dot;
        T* _matrix;
        float* _x, _y;
        nint _ld, _incY;
        int _length, _k, _units, _tasks;
        float _alpha, _beta;

        // dot: matrix [length, k] (row i contiguous along k); else [k, length] (row p contiguous along the output). x: k contiguous.
        public static void Run(bool dot, T* matrix, nint ld, int length, float* x, int k, float* y, nint incY, float alpha, float beta, bool parallel)
        {
            var job = t_job ??= new GemvJob<T, TS>();
            job._dot = dot; job._matrix = matrix; job._ld = ld; job._length = length;
            job._x = x; job._k = k; job._y = y; job._incY = incY; job._alpha = alpha; job._beta = beta;
            job._units = dot ? length : (length + AxpyWidth - 1) / AxpyWidth;
            long flops = 2L * length * k;
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
            float* y = _y + i * _incY;
            *y = _beta == 0f ? _alpha * sum : _alpha * sum + _beta * *y;
        }

        /// <summary>y[i] = dot(M[i,:], x) for i in [i0, i1): four rows at a time share each load of x.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows(int i0, int i1)
        {
            int k = _k;
            float* x = _x;
            int i = i0;
            for (; i + 4 <= i1; i += 4)
            {
                T* r0 = _matrix + i * _ld, r1 = r0 + _ld, r2 = r1 + _ld, r3 = r2 + _ld;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    Vector256<float> xv = Vector256.Load(x + p);
                    s0 = Vector256.FusedMultiplyAdd(TS.Load8(r0 + p), xv, s0);
                    s1 = Vector256.FusedMultiplyAdd(TS.Load8(r1 + p), xv, s1);
                    s2 = Vector256.FusedMultiplyAdd(TS.Load8(r2 + p), xv, s2);
                    s3 = Vector256.FusedMultiplyAdd(TS.Load8(r3 + p), xv, s3);
                }
                float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    t0 += TS.Load1(r0[p]) * x[p]; t1 += TS.Load1(r1[p]) * x[p];
                    t2 += TS.Load1(r2[p]) * x[p]; t3 += TS.Load1(r3[p]) * x[p];
                }
                Store(i, t0); Store(i + 1, t1); Store(i + 2, t2); Store(i + 3, t3);
            }
            for (; i < i1; i++)
            {
                T* r = _matrix + i * _ld;
                Vector256<float> s = default;
                int p = 0;
                for (; p + 8 <= k; p += 8) s = Vector256.FusedMultiplyAdd(TS.Load8(r + p), Vector256.Load(x + p), s);
                float t = Vector256.Sum(s);
                for (; p < k; p++) t += TS.Load1(r[p]) * x[p];
                Store(i, t);
            }
        }

        /// <summary>y[j0 .. j0+w) += x[p] * M[p, j0 .. j0+w) over all p; w ≤ 64.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void AxpyBlock(int j0, int w)
        {
            float* x = _x;
            T* col = _matrix + j0;
            int k = _k;
            if (w == AxpyWidth)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
                for (int p = 0; p < k; p++, col += _ld)
                {
                    Vector256<float> xp = Vector256.Create(x[p]);
                    a0 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col), a0);
                    a1 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 24), a3);
                    a4 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 32), a4);
                    a5 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 40), a5);
                    a6 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 48), a6);
                    a7 = Vector256.FusedMultiplyAdd(xp, TS.Load8(col + 56), a7);
                }
                float* acc = stackalloc float[AxpyWidth];
                a0.Store(acc); a1.Store(acc + 8); a2.Store(acc + 16); a3.Store(acc + 24);
                a4.Store(acc + 32); a5.Store(acc + 40); a6.Store(acc + 48); a7.Store(acc + 56);
                for (int j = 0; j < AxpyWidth; j++) Store(j0 + j, acc[j]);
                return;
            }
            // The last, narrower block: vectors of 8 while they fit, then scalars.
            float* tail = stackalloc float[AxpyWidth];
            new Span<float>(tail, w).Clear();
            int wv = w & ~7;
            for (int p = 0; p < k; p++, col += _ld)
            {
                float xp = x[p];
                int j = 0;
                for (; j < wv; j += 8)
                    Vector256.FusedMultiplyAdd(Vector256.Create(xp), TS.Load8(col + j), Vector256.Load(tail + j)).Store(tail + j);
                for (; j < w; j++) tail[j] += xp * TS.Load1(col[j]);
            }
            for (int j = 0; j < w; j++) Store(j0 + j, tail[j]);
        }
    }
}
