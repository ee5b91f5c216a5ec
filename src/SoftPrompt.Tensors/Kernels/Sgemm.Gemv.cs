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
        var job = t_gemvJob ??= new GemvJob();
        int k = g.K;
        float* x;
        nint incX;
        if (g.M == 1)
        {
            job.Dot = g.TransB;
            job.Matrix = g.B; job.Ld = g.Ldb; job.Length = g.N;
            job.Y = g.C; job.IncY = 1;
            x = g.A; incX = g.TransA ? g.Lda : 1;
        }
        else
        {
            job.Dot = !g.TransA;
            job.Matrix = g.A; job.Ld = g.Lda; job.Length = g.M;
            job.Y = g.C; job.IncY = g.Ldc;
            x = g.B; incX = g.TransB ? 1 : g.Ldb;
        }
        if (incX != 1)
        {
            // Gather a strided x into the calling thread's B buffer (unused on this path).
            float* xs = ThreadScratch.B.Get(k);
            for (int p = 0; p < k; p++) xs[p] = x[p * incX];
            x = xs;
        }
        job.X = x; job.K = k;
        job.Alpha = g.Alpha; job.Beta = g.Beta;

        int units = job.Dot ? job.Length : (job.Length + AxpyWidth - 1) / AxpyWidth;
        long flops = 2L * job.Length * k;
        job.Units = units;
        job.Tasks = parallel && flops >= ParallelMinFlops ? Math.Min(units, WorkerPool.ThreadCount * 4) : 1;
        try
        {
            if (job.Tasks > 1) WorkerPool.Run(job, job.Tasks);
            else job.Execute(0);
        }
        finally { job.Matrix = null; job.X = null; job.Y = null; }
    }

    [ThreadStatic] static GemvJob? t_gemvJob;

    /// <summary>A chunk of output rows (dot form) or of 64-wide output column blocks (axpy form) per task.</summary>
    sealed unsafe class GemvJob : IParallelJob
    {
        public bool Dot;
        public float* Matrix, X, Y;
        public nint Ld, IncY;
        public int Length, K, Units, Tasks;
        public float Alpha, Beta;

        public void Execute(int index)
        {
            var (u0, u1) = WorkerPool.Chunk(index, Tasks, Units);
            if (Dot) DotRows(u0, u1);
            else for (int u = u0; u < u1; u++) AxpyBlock(u * AxpyWidth, Math.Min(AxpyWidth, Length - u * AxpyWidth));
        }

        void Store(int i, float sum)
        {
            float* y = Y + i * IncY;
            *y = Beta == 0f ? Alpha * sum : Alpha * sum + Beta * *y;
        }

        /// <summary>y[i] for i in [i0, i1): four rows at a time share each load of x.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows(int i0, int i1)
        {
            int k = K;
            float* x = X;
            int i = i0;
            for (; i + 4 <= i1; i += 4)
            {
                float* r0 = Matrix + i * Ld, r1 = r0 + Ld, r2 = r1 + Ld, r3 = r2 + Ld;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    Vector256<float> xv = Vector256.Load(x + p);
                    s0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p), xv, s0);
                    s1 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + p), xv, s1);
                    s2 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + p), xv, s2);
                    s3 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + p), xv, s3);
                }
                float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    t0 += r0[p] * x[p]; t1 += r1[p] * x[p]; t2 += r2[p] * x[p]; t3 += r3[p] * x[p];
                }
                Store(i, t0); Store(i + 1, t1); Store(i + 2, t2); Store(i + 3, t3);
            }
            for (; i < i1; i++)
            {
                float* r = Matrix + i * Ld;
                Vector256<float> s = default;
                int p = 0;
                for (; p + 8 <= k; p += 8) s = Vector256.FusedMultiplyAdd(Vector256.Load(r + p), Vector256.Load(x + p), s);
                float t = Vector256.Sum(s);
                for (; p < k; p++) t += r[p] * x[p];
                Store(i, t);
            }
        }

        /// <summary>y[j0 .. j0+w) += x[p] * M[p, j0 .. j0+w) over all p; w ≤ 64.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void AxpyBlock(int j0, int w)
        {
            float* x = X;
            float* col = Matrix + j0;
            if (w == AxpyWidth)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
                for (int p = 0; p < K; p++, col += Ld)
                {
                    Vector256<float> xp = Vector256.Create(x[p]);
                    a0 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col), a0);
                    a1 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 24), a3);
                    a4 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 32), a4);
                    a5 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 40), a5);
                    a6 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 48), a6);
                    a7 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(col + 56), a7);
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
            for (int p = 0; p < K; p++, col += Ld)
            {
                float xp = x[p];
                int j = 0;
                for (; j < wv; j += 8)
                    Vector256.FusedMultiplyAdd(Vector256.Create(xp), Vector256.Load(col + j), Vector256.Load(tail + j)).Store(tail + j);
                for (; j < w; j++) tail[j] += xp * col[j];
            }
            for (int j = 0; j < w; j++) Store(j0 + j, tail[j]);
        }
    }
}
