using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Weights;

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

    // At batch 1 a decoding step is these products, and each reads its matrix once from memory: the
    // loops are shaped for the memory system, not the FMA units.
    //   axpy: the rows of M are split into bands of AxpyBandRows; a task streams its band front to back,
    //         four rows at a time, into its own partial y (in L1), and the partials are summed in band
    //         order afterwards. Walking down 64-wide column strips instead (one strip a task) read each
    //         row in 256-byte pieces a row stride apart, which the prefetchers did not follow: 30-45 % of
    //         the read bandwidth on GPT-2's [768, 3072] and [3072, 768] matrices against ~90 % for the
    //         dot form. The bands depend on k alone, so the bits do not depend on the thread count.
    //   dot:  four rows at a time share each load of x; rows are contiguous, so four streams. Each thread owns one
    //         contiguous range of rows and streams it front to back in chunks; a thread done early takes chunks from
    //         the back of the others' ranges.
    // Both use 16-wide vectors where Vector512 is accelerated (unless ForceVector256).
    // A few rows of x (batched decoding, m ≤ FewRows, weights in B) take the same loops: each group of four
    // matrix rows, once read from memory, serves every x row from L1/L2. The packed GEMM would read the matrix,
    // write a packed copy and read that again: ~3× the traffic of one row for 2-8 rows.

    /// <summary>Most rows of x (m) a product runs as matrix-vector products sharing each read of the matrix.</summary>
    internal const int FewRows = 8;

    /// <summary>Bytes of matrix a dot-form chunk holds: one claim (an atomic exchange) per 128 KiB streamed.</summary>
    const long StealBytes = 128 * 1024;

    /// <summary>longs between two tasks' ranges, so that two threads' claims never share a cache line.</summary>
    const int RangeStride = 16;

    /// <summary>Rows of M one axpy task reads (the last band may be shorter).</summary>
    const int AxpyBandRows = 128;

    /// <summary>Below this many matrix elements a product runs on the calling thread: the matrix is in cache, or too small to split.</summary>
    const long GemvParallelMinElements = 1L << 16;

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

    /// <summary>Whether C = op(A)·op(B) runs as matrix-vector products over A's rows: 2..FewRows rows of A, stored along k, B the matrix.</summary>
    static bool IsFewRows(in GemmArgs g) => g.M > 1 && g.M <= FewRows && g.N > FewRows && !g.TransA;

    /// <summary>m ≤ FewRows: x = A's rows (stride lda), y = C's rows (stride ldc); B [k,n] -> axpy, B^T (stored [n,k]) -> dot.</summary>
    static unsafe void ExecuteFewRows(in GemmArgs g, bool parallel)
    {
        if (g.BHalf == null)
            GemvJob<float, Float32Source>.Run(g.TransB, g.B, g.Ldb, g.N, g.A, g.K, g.C, 1, g.Alpha, g.Beta, parallel, g.M, g.Lda, g.Ldc);
        else if (g.BHalfIsBf16)
            GemvJob<ushort, Widened<Bf16>>.Run(g.TransB, g.BHalf, g.Ldb, g.N, g.A, g.K, g.C, 1, g.Alpha, g.Beta, parallel, g.M, g.Lda, g.Ldc);
        else
            GemvJob<ushort, Widened<F16>>.Run(g.TransB, g.BHalf, g.Ldb, g.N, g.A, g.K, g.C, 1, g.Alpha, g.Beta, parallel, g.M, g.Lda, g.Ldc);
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
    /// <typeparamref name="TS"/> (float32 itself, or a 16-bit format widened on load: one code, compiled per source,
    /// so a 16-bit M gives bitwise the float32 result on the widened matrix). Dot form: a chunk of output rows a
    /// task; axpy form: a band of M's rows a task (see above).
    /// </summary>
    sealed unsafe class GemvJob<T, TS> : IParallelJob where T : unmanaged where TS : struct, IPanelSource<T>
    {
        [ThreadStatic] static GemvJob<T, TS>? t_job;

        bool _dot, _wide;
        int _chunkRows;
        readonly long[] _ranges = new long[RangeStride * Math.Max(1, WorkerPool.ThreadCount)];   // per task: (back << 32) | front, in chunks
        T* _matrix;
        float* _x, _y, _partial;
        nint _ld, _incY, _ldx, _ldy;
        int _length, _k, _units, _tasks, _rows;
        float _alpha, _beta;

        // dot: matrix [length, k] (row i contiguous along k); else [k, length] (row p contiguous along the output). x: k contiguous.
        // rows: rows of x (stride ldx) and of y (stride ldy), all against the one matrix.
        public static void Run(bool dot, T* matrix, nint ld, int length, float* x, int k, float* y, nint incY, float alpha, float beta, bool parallel,
            int rows = 1, nint ldx = 0, nint ldy = 0)
        {
            var job = t_job ??= new GemvJob<T, TS>();
            job._dot = dot; job._matrix = matrix; job._ld = ld; job._length = length;
            job._x = x; job._k = k; job._y = y; job._incY = incY; job._alpha = alpha; job._beta = beta;
            job._rows = rows; job._ldx = ldx; job._ldy = ldy;
            job._wide = !ForceVector256 && Vector512.IsHardwareAccelerated;
            // axpy: partial sums [bands][length] in the calling thread's A buffer (unused on the gemv path)
            job._units = dot ? length : (k + AxpyBandRows - 1) / AxpyBandRows;
            job._partial = dot ? null : ThreadScratch.A.Get((nint)job._units * rows * length);   // [band][row][length]
            bool split = parallel && !WorkerPool.InsideJob && (long)length * k >= GemvParallelMinElements;
            // One contiguous range a thread, not several smaller ones taken in turn: each thread then streams its part of the
            // matrix front to back and the prefetchers never restart (batch-1 decoding of GPT-2 small: 5–10 % more tokens/s in
            // f32 and bf16 than four ranges a thread, in alternating runs of `bench decode`). A late worker's range is taken
            // by the caller. The split does not change any sum: each output is the same chain of FMAs in every kernel.
            job._tasks = split ? Math.Min(job._units, WorkerPool.ThreadCount) : 1;
            if (dot && job._tasks > 1) job.SplitRanges();
            try
            {
                if (job._tasks > 1) WorkerPool.Run(job, job._tasks);
                else job.Execute(0);
                if (!dot) job.SumBands();
            }
            finally { job._matrix = null; job._x = null; job._y = null; job._partial = null; }
        }

        public void Execute(int index)
        {
            if (_dot && _tasks > 1)
            {
                // Its own range front to back, then what is left of the others' from their backs: a thread the machine
                // slowed (another process on its core) no longer holds up the whole product.
                while (Take(index, fromFront: true, out int chunk)) DotChunk(chunk);
                for (int i = 1; i < _tasks; i++)
                    while (Take((index + i) % _tasks, fromFront: false, out int chunk)) DotChunk(chunk);
                return;
            }
            var (u0, u1) = WorkerPool.Chunk(index, _tasks, _units);
            if (_dot) DotRange(u0, u1);
            else for (int band = u0; band < u1; band++) AxpyBand(band);
        }

        void DotRange(int i0, int i1)
        {
            if (_wide && sizeof(T) == 2) DotRows512(i0, i1);
            else if (_wide) DotRows512Four(i0, i1);
            else DotRows(i0, i1);
        }

        void DotChunk(int chunk) => DotRange(chunk * _chunkRows, Math.Min(_length, (chunk + 1) * _chunkRows));

        /// <summary>Cuts the output rows into chunks of about <see cref="StealBytes"/> of matrix (a multiple of four rows) and gives each task one contiguous run of them.</summary>
        void SplitRanges()
        {
            long rowBytes = (long)_k * sizeof(T) * _rows;
            _chunkRows = (int)Math.Max(4, StealBytes / Math.Max(1, rowBytes)) & ~3;
            int chunks = (_length + _chunkRows - 1) / _chunkRows;
            for (int t = 0; t < _tasks; t++)
            {
                var (c0, c1) = WorkerPool.Chunk(t, _tasks, chunks);
                _ranges[t * RangeStride] = ((long)c1 << 32) | (uint)c0;
            }
        }

        /// <summary>Claims the next chunk of task <paramref name="task"/>'s range: its owner from the front, any other thread from the back.</summary>
        bool Take(int task, bool fromFront, out int chunk)
        {
            ref long range = ref _ranges[task * RangeStride];
            while (true)
            {
                long s = Volatile.Read(ref range);
                int front = (int)s, back = (int)(s >> 32);
                if (front >= back) { chunk = -1; return false; }
                long next = fromFront ? s + 1 : ((long)(back - 1) << 32) | (uint)front;
                if (Interlocked.CompareExchange(ref range, next, s) == s) { chunk = fromFront ? front : back - 1; return true; }
            }
        }

        void Store(int r, int i, float sum)
        {
            float* y = _y + r * _ldy + i * _incY;
            *y = _beta == 0f ? _alpha * sum : _alpha * sum + _beta * *y;
        }

        /// <summary>y[i] = dot(M[i,:], x) for i in [i0, i1): four rows at a time share each load of x.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows(int i0, int i1)
        {
            int k = _k;
            int i = i0;
            for (; i + 4 <= i1; i += 4)
            for (int row = 0; row < _rows; row++)
            {
                float* x = _x + row * _ldx;
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
                Store(row, i, t0); Store(row, i + 1, t1); Store(row, i + 2, t2); Store(row, i + 3, t3);
            }
            for (; i < i1; i++)
            for (int row = 0; row < _rows; row++)
            {
                float* x = _x + row * _ldx;
                T* r = _matrix + i * _ld;
                Vector256<float> s = default;
                int p = 0;
                for (; p + 8 <= k; p += 8) s = Vector256.FusedMultiplyAdd(TS.Load8(r + p), Vector256.Load(x + p), s);
                float t = Vector256.Sum(s);
                for (; p < k; p++) t += TS.Load1(r[p]) * x[p];
                Store(row, i, t);
            }
        }

        /// <summary>
        /// As <see cref="DotRows"/> with 16-wide vectors for 16-bit matrices, one matrix row at a time with four accumulators
        /// along k: the matrix is read as one sequential stream. Four interleaved row streams kept too few lines in flight
        /// for bf16 (~45 % of the read bandwidth on one thread, ~80 % this way); float32 keeps them (DotRows512Four: in
        /// alternating rounds against llama-bench it did better that way). With several x rows the matrix row, once read,
        /// serves each of them from L1. A 16-bit matrix still gives bitwise the float32 result on the widened matrix only
        /// within one path: ForceVector256 and the float32 tests compare like with like.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows512(int i0, int i1)
        {
            int k = _k, kv = k & ~15, k64 = k & ~63;
            for (int i = i0; i < i1; i++)
            {
                T* r = _matrix + i * _ld;
                for (int row = 0; row < _rows; row++)
                {
                    float* x = _x + row * _ldx;
                    Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                    int p = 0;
                    for (; p < k64; p += 64)
                    {
                        s0 = Vector512.FusedMultiplyAdd(TS.Load16(r + p), Vector512.Load(x + p), s0);
                        s1 = Vector512.FusedMultiplyAdd(TS.Load16(r + p + 16), Vector512.Load(x + p + 16), s1);
                        s2 = Vector512.FusedMultiplyAdd(TS.Load16(r + p + 32), Vector512.Load(x + p + 32), s2);
                        s3 = Vector512.FusedMultiplyAdd(TS.Load16(r + p + 48), Vector512.Load(x + p + 48), s3);
                    }
                    for (; p < kv; p += 16) s0 = Vector512.FusedMultiplyAdd(TS.Load16(r + p), Vector512.Load(x + p), s0);
                    float t = Vector512.Sum((s0 + s1) + (s2 + s3));
                    for (; p < k; p++) t += TS.Load1(r[p]) * x[p];
                    Store(row, i, t);
                }
            }
        }

        /// <summary>
        /// As <see cref="DotRows512"/> (the same sum for every element: four accumulators along k, then the same tails) over
        /// four matrix rows at a time: float32 matrices, four row streams sharing each load of x.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void DotRows512Four(int i0, int i1)
        {
            int k = _k, kv = k & ~15, k64 = k & ~63;
            int i = i0;
            for (; i + 4 <= i1; i += 4)
            for (int row = 0; row < _rows; row++)
            {
                float* x = _x + row * _ldx;
                T* r0 = _matrix + i * _ld, r1 = r0 + _ld, r2 = r1 + _ld, r3 = r2 + _ld;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
                int p = 0;
                for (; p < k64; p += 64)
                {
                    Vector512<float> x0 = Vector512.Load(x + p), x1 = Vector512.Load(x + p + 16), x2 = Vector512.Load(x + p + 32), x3 = Vector512.Load(x + p + 48);
                    a0 = Vector512.FusedMultiplyAdd(TS.Load16(r0 + p), x0, a0); a1 = Vector512.FusedMultiplyAdd(TS.Load16(r0 + p + 16), x1, a1);
                    a2 = Vector512.FusedMultiplyAdd(TS.Load16(r0 + p + 32), x2, a2); a3 = Vector512.FusedMultiplyAdd(TS.Load16(r0 + p + 48), x3, a3);
                    b0 = Vector512.FusedMultiplyAdd(TS.Load16(r1 + p), x0, b0); b1 = Vector512.FusedMultiplyAdd(TS.Load16(r1 + p + 16), x1, b1);
                    b2 = Vector512.FusedMultiplyAdd(TS.Load16(r1 + p + 32), x2, b2); b3 = Vector512.FusedMultiplyAdd(TS.Load16(r1 + p + 48), x3, b3);
                    c0 = Vector512.FusedMultiplyAdd(TS.Load16(r2 + p), x0, c0); c1 = Vector512.FusedMultiplyAdd(TS.Load16(r2 + p + 16), x1, c1);
                    c2 = Vector512.FusedMultiplyAdd(TS.Load16(r2 + p + 32), x2, c2); c3 = Vector512.FusedMultiplyAdd(TS.Load16(r2 + p + 48), x3, c3);
                    d0 = Vector512.FusedMultiplyAdd(TS.Load16(r3 + p), x0, d0); d1 = Vector512.FusedMultiplyAdd(TS.Load16(r3 + p + 16), x1, d1);
                    d2 = Vector512.FusedMultiplyAdd(TS.Load16(r3 + p + 32), x2, d2); d3 = Vector512.FusedMultiplyAdd(TS.Load16(r3 + p + 48), x3, d3);
                }
                for (; p < kv; p += 16)
                {
                    Vector512<float> xv = Vector512.Load(x + p);
                    a0 = Vector512.FusedMultiplyAdd(TS.Load16(r0 + p), xv, a0); b0 = Vector512.FusedMultiplyAdd(TS.Load16(r1 + p), xv, b0);
                    c0 = Vector512.FusedMultiplyAdd(TS.Load16(r2 + p), xv, c0); d0 = Vector512.FusedMultiplyAdd(TS.Load16(r3 + p), xv, d0);
                }
                float t0 = Vector512.Sum((a0 + a1) + (a2 + a3)), t1 = Vector512.Sum((b0 + b1) + (b2 + b3));
                float t2 = Vector512.Sum((c0 + c1) + (c2 + c3)), t3 = Vector512.Sum((d0 + d1) + (d2 + d3));
                for (; p < k; p++)
                {
                    t0 += TS.Load1(r0[p]) * x[p]; t1 += TS.Load1(r1[p]) * x[p];
                    t2 += TS.Load1(r2[p]) * x[p]; t3 += TS.Load1(r3[p]) * x[p];
                }
                Store(row, i, t0); Store(row, i + 1, t1); Store(row, i + 2, t2); Store(row, i + 3, t3);
            }
            if (i < i1) DotRows512(i, i1);
        }

        /// <summary>
        /// partial[band][0..length) = Σ over the band's rows p (in order) of x[p] * M[p, :]: four rows at a
        /// time stream front to back while the band's partial row (≤ 12 KiB for GPT-2) stays in L1.
        /// Each element's sum is the same FMA chain in every lane width, so the tail columns agree with the rest.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void AxpyBand(int band)
        {
            int p0 = band * AxpyBandRows, p1 = Math.Min(_k, p0 + AxpyBandRows), n = _length;
            float* accs = _partial + (nint)band * _rows * n;
            new Span<float>(accs, _rows * n).Clear();
            int n16 = _wide ? n & ~15 : 0, n8 = n & ~7;
            int p = p0;
            // 16-bit matrices under AVX-512: one matrix row at a time, a single sequential stream (see DotRows512); the
            // per-element order is the same either way.
            for (; !(_wide && sizeof(T) == 2) && p + 4 <= p1; p += 4)
            for (int row = 0; row < _rows; row++)
            {
                float* x = _x + row * _ldx, acc = accs + (nint)row * n;
                T* r0 = _matrix + p * _ld, r1 = r0 + _ld, r2 = r1 + _ld, r3 = r2 + _ld;
                int j = 0;
                if (n16 > 0)
                {
                    Vector512<float> x0 = Vector512.Create(x[p]), x1 = Vector512.Create(x[p + 1]), x2 = Vector512.Create(x[p + 2]), x3 = Vector512.Create(x[p + 3]);
                    for (; j < n16; j += 16)
                    {
                        Vector512<float> a = Vector512.Load(acc + j);
                        a = Vector512.FusedMultiplyAdd(x0, TS.Load16(r0 + j), a);
                        a = Vector512.FusedMultiplyAdd(x1, TS.Load16(r1 + j), a);
                        a = Vector512.FusedMultiplyAdd(x2, TS.Load16(r2 + j), a);
                        a = Vector512.FusedMultiplyAdd(x3, TS.Load16(r3 + j), a);
                        a.Store(acc + j);
                    }
                }
                {
                    Vector256<float> x0 = Vector256.Create(x[p]), x1 = Vector256.Create(x[p + 1]), x2 = Vector256.Create(x[p + 2]), x3 = Vector256.Create(x[p + 3]);
                    for (; j < n8; j += 8)
                    {
                        Vector256<float> a = Vector256.Load(acc + j);
                        a = Vector256.FusedMultiplyAdd(x0, TS.Load8(r0 + j), a);
                        a = Vector256.FusedMultiplyAdd(x1, TS.Load8(r1 + j), a);
                        a = Vector256.FusedMultiplyAdd(x2, TS.Load8(r2 + j), a);
                        a = Vector256.FusedMultiplyAdd(x3, TS.Load8(r3 + j), a);
                        a.Store(acc + j);
                    }
                }
                for (; j < n; j++)
                {
                    float a = acc[j];
                    a = MathF.FusedMultiplyAdd(x[p], TS.Load1(r0[j]), a);
                    a = MathF.FusedMultiplyAdd(x[p + 1], TS.Load1(r1[j]), a);
                    a = MathF.FusedMultiplyAdd(x[p + 2], TS.Load1(r2[j]), a);
                    acc[j] = MathF.FusedMultiplyAdd(x[p + 3], TS.Load1(r3[j]), a);
                }
            }
            for (; p < p1; p++)
            for (int row = 0; row < _rows; row++)
            {
                float* x = _x + row * _ldx, acc = accs + (nint)row * n;
                T* r = _matrix + p * _ld;
                float xp = x[p];
                int j = 0;
                for (; j < n16; j += 16) Vector512.FusedMultiplyAdd(Vector512.Create(xp), TS.Load16(r + j), Vector512.Load(acc + j)).Store(acc + j);
                for (; j < n8; j += 8) Vector256.FusedMultiplyAdd(Vector256.Create(xp), TS.Load8(r + j), Vector256.Load(acc + j)).Store(acc + j);
                for (; j < n; j++) acc[j] = MathF.FusedMultiplyAdd(xp, TS.Load1(r[j]), acc[j]);
            }
        }

        /// <summary>y[r, j] = alpha * (partial[0][r][j] + partial[1][r][j] + …, in band order) + beta * y[r, j].</summary>
        void SumBands()
        {
            int n = _length, bands = _units;
            nint bandStride = (nint)_rows * n;
            for (int row = 0; row < _rows; row++)
            {
                float* first = _partial + (nint)row * n;
                int j = 0;
                if (bands > 1)   // vectors of 8: each element still adds its bands in order
                    for (; j + 8 <= n; j += 8)
                    {
                        float* q = first + j;
                        Vector256<float> s = Vector256.Load(q);
                        for (int b = 1; b < bands; b++) s += Vector256.Load(q + b * bandStride);
                        s.Store(q);
                    }
                for (; j < n; j++)
                {
                    float* q = first + j;
                    float s = q[0];
                    for (int b = 1; b < bands; b++) s += q[b * bandStride];
                    q[0] = s;
                }
                for (j = 0; j < n; j++) Store(row, j, first[j]);
            }
        }
    }
}
