using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    /// <summary>
    /// Register tile (MR×NR) and cache blocking of one micro-kernel: a task's MC×KC block of
    /// packed A stays in its core's L2 while the KC×NR micro-panels of packed B stream past it;
    /// the KC×NC panel of B is packed once per (jc, pc) block and reused by every row chunk.
    /// </summary>
    internal readonly record struct Blocking(int MR, int NR, int KC, int MC, int NC, bool Wide);

    // Measured on the 2-vCPU AMD EPYC (AVX-512) dev machine with the gemm bench: one thread
    // runs ~107 GFLOP/s with the 6×16 kernel (OpenBLAS's AVX2 kernel: ~108) and ~205 with the
    // 12×32 one; KC 256–768, MC 48–288 and NC 1024–4096 all land within noise (±3%) of these
    // values, except that a smaller KC is slower once two threads run. KC = 768 keeps GPT-2's
    // K = 768 in one block.

    /// <summary>AVX2 6×16 kernel (the Vector256 path).</summary>
    internal static Blocking Narrow { get; set; } = new(MR: 6, NR: 16, KC: 768, MC: 72, NC: 2048, Wide: false);

    /// <summary>AVX-512 12×32 kernel (the Vector512 path).</summary>
    internal static Blocking Wide { get; set; } = new(MR: 12, NR: 32, KC: 768, MC: 144, NC: 2048, Wide: true);

    /// <summary>Tests set this to run the Vector256 kernel on machines that have AVX-512.</summary>
    internal static bool ForceVector256 { get; set; }

    /// <summary>The kernel this call will use.</summary>
    internal static Blocking Current =>
        !ForceVector256 && Vector512.IsHardwareAccelerated ? Wide : Narrow;

    /// <summary>Below this many flops a product runs on the calling thread alone.</summary>
    const long ParallelMinFlops = 1L << 21;

    /// <summary>Pointers and sizes of one product; the spans are pinned by the caller.</summary>
    unsafe struct GemmArgs(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, float alpha, float beta)
    {
        public bool TransA = transA, TransB = transB;
        public int M = m, N = n, K = k;
        public float* A = a, B = b, C = c;
        public int Lda = lda, Ldb = ldb, Ldc = ldc;
        public float Alpha = alpha, Beta = beta;
        public ushort* BHalf;       // set instead of B when B holds 16-bit floats (Sgemm.Half.cs)
        public bool BHalfIsBf16;    // bf16 bits, else f16
        public float* Bias;         // [N] added to every row of C in the first K block (beta is 0 then), or null
    }

    /// <summary>
    /// Floating-point operations (2·m·n·k a product) of every product this process has run, on any thread: the benches set
    /// a step's time beside the time this work would take at the machine's peak. A product with k = 0 or alpha = 0 only scales C: none.
    /// </summary>
    public static long FlopsDone
    {
        get
        {
            lock (s_flopCounters)
            {
                long sum = 0;
                foreach (var counter in s_flopCounters) sum += Volatile.Read(ref counter[0]);
                return sum;
            }
        }
    }

    // One counter per thread that multiplies, written by that thread alone: attention runs thousands of small products a
    // step on both threads, and one shared atomic counter bounced its cache line between the cores on every one of them.
    // A counter is 16 longs (128 bytes) so that no two threads' counters share a cache line.
    static readonly List<long[]> s_flopCounters = [];
    [ThreadStatic] static long[]? t_flopCounter;

    static void CountFlops(long flops)
    {
        var counter = t_flopCounter;
        if (counter is null)
        {
            t_flopCounter = counter = new long[16];
            lock (s_flopCounters) s_flopCounters.Add(counter);
        }
        Volatile.Write(ref counter[0], counter[0] + flops);
    }

    /// <summary>One product; with <paramref name="parallel"/>, spread over the worker pool.</summary>
    static unsafe void Execute(in GemmArgs g, bool parallel)
    {
        if (g.Bias != null && (g.K == 0 || g.Alpha == 0f || g.M == 1 || g.N == 1 || IsFewRows(in g)))
        {
            // Paths without tiles: C = bias, then C += alpha·op(A)·op(B) (the same bits as the tiles' epilogue).
            FillRows(g.C, g.Ldc, g.M, g.N, g.Bias);
            GemmArgs accumulate = g;
            accumulate.Bias = null;
            accumulate.Beta = 1f;
            Execute(in accumulate, parallel);
            return;
        }
        if (g.K == 0 || g.Alpha == 0f)
        {
            ScaleC(g.C, g.Ldc, g.M, g.N, g.Beta);
            return;
        }
        CountFlops(2L * g.M * g.N * g.K);
        if (g.M == 1 || g.N == 1)
        {
            using var _ = OpClock.Time(OpClock.Kind.MatVec);
            ExecuteGemv(in g, parallel);
            return;
        }
        if (IsFewRows(in g))
        {
            using var _ = OpClock.Time(OpClock.Kind.MatVec);
            ExecuteFewRows(in g, parallel);
            return;
        }
        using var clock = OpClock.Time(OpClock.Kind.Gemm);
        Blocking bl = Current;
        // Inside a pool job the product runs on this thread alone: blocked for one thread, not split for tasks run in turn.
        int threads = parallel && !WorkerPool.InsideJob && 2L * g.M * g.N * g.K >= ParallelMinFlops ? WorkerPool.ThreadCount : 1;
        var job = t_job ??= new GemmJob();
        job.Prepare(in g, bl, threads);
        try
        {
            for (int jc = 0; jc < g.N; jc += job.ColumnBlock)
            {
                int nc = Math.Min(job.ColumnBlock, g.N - jc);
                for (int pc = 0; pc < g.K; pc += bl.KC)
                {
                    int kc = Math.Min(bl.KC, g.K - pc);
                    job.SetBlock(jc, nc, pc, kc);
                    if (threads > 1) WorkerPool.Run(job, job.Tasks);
                    else for (int t = 0; t < job.Tasks; t++) job.Execute(t);
                }
            }
        }
        finally { job.Clear(); }
    }

    [ThreadStatic] static GemmJob? t_job;

    /// <summary>Columns of B packed at once by one thread: 4 micro-panels of 32 or 8 of 16.</summary>
    const int SlabColumns = 128;

    /// <summary>
    /// One (jc, pc) block: C[:, jc:jc+nc] (+)= alpha * op(A)[:, pc:pc+kc] · op(B)[pc:pc+kc, jc:jc+nc].
    /// Tasks are (row chunk of ≤ MC rows) × (column chunk); each packs its rows of A into its
    /// thread's A buffer, then walks its column chunk slab by slab (SlabColumns of B). Packing
    /// B is fused into that walk: the first task to reach a slab packs it into the block's B
    /// panel (the calling thread's B buffer) and marks it ready, later tasks on the same
    /// columns reuse it. So there is no separate pack stage or barrier, and a slab is first
    /// used while it is still in the packing thread's cache. Row chunks that run side by side
    /// on the same columns start their walks at different slabs, so they pack disjoint slabs.
    /// Reused per calling thread: no allocation per call.
    /// </summary>
    sealed unsafe class GemmJob : IParallelJob
    {
        GemmArgs _g;
        Blocking _bl;
        float* _bPack;                       // [nPanels][kc][NR], owned by the calling thread
        int _jc, _nc, _pc, _kc;              // the current block of N and K
        float _beta;                         // beta for this K block: the caller's first, then 1
        int _mPanels, _nPanels;              // micro-panels of MR rows / NR columns
        int _panelsPerSlab, _slabs;
        int[] _slabState = new int[64];      // per slab of the current block: Unpacked, Packing or Ready
        int _tasksM, _tasksN, _panelsPerTaskM;
        int _threads;
        public int Tasks;
        public int ColumnBlock;              // columns per (jc) block

        const int Unpacked = 0, Packing = 1, Ready = 2;

        public void Prepare(in GemmArgs g, Blocking bl, int threads)
        {
            _g = g;
            _bl = bl;
            _threads = threads;
            _mPanels = (g.M + bl.MR - 1) / bl.MR;
            // Rows: chunks of at most MC rows. With several threads, the columns are split into
            // one chunk per thread when there are enough of them (or too few rows to share):
            // each thread then packs and reads only its own part of B — a shared B panel would
            // travel between the cores' caches, which measured 1–7% slower — at the price of
            // every thread packing all of A. Otherwise the row chunks are split, their number
            // rounded up to a multiple of the thread count so every thread gets equal work.
            int panelsPerBlock = Math.Max(1, bl.MC / bl.MR);
            int nPanelsMax = (Math.Min(bl.NC, g.N) + bl.NR - 1) / bl.NR;
            _tasksM = (_mPanels + panelsPerBlock - 1) / panelsPerBlock;
            _tasksN = 1;
            if (threads > 1)
            {
                if (nPanelsMax >= 8 * threads || _mPanels < 4 * threads) _tasksN = threads;
                else _tasksM = (_tasksM + threads - 1) / threads * threads;
            }
            _panelsPerTaskM = (_mPanels + _tasksM - 1) / _tasksM;
            // Split columns: NC bounds each thread's share of a block, so a block is NC × threads
            // wide and each thread packs A once per block (N = 3072, 12×32 kernel: +7%).
            ColumnBlock = bl.NC * _tasksN;

            int ncMax = Math.Min(ColumnBlock, g.N);
            int kcMax = Math.Min(bl.KC, g.K);
            nint bFloats = (nint)kcMax * ((ncMax + bl.NR - 1) / bl.NR * bl.NR) + PackSlack;
            _bPack = ThreadScratch.B.Get(bFloats);
            // Column-split tasks share no slab, so they split at micro-panel granularity.
            _panelsPerSlab = _tasksN > 1 ? 1 : Math.Max(1, SlabColumns / bl.NR);
            int maxSlabs = (ncMax + bl.NR * _panelsPerSlab - 1) / (bl.NR * _panelsPerSlab);
            if (_slabState.Length < maxSlabs) _slabState = new int[maxSlabs];
        }

        public void SetBlock(int jc, int nc, int pc, int kc)
        {
            _jc = jc; _nc = nc; _pc = pc; _kc = kc;
            _beta = pc == 0 ? _g.Beta : 1f;
            _nPanels = (nc + _bl.NR - 1) / _bl.NR;
            _slabs = (_nPanels + _panelsPerSlab - 1) / _panelsPerSlab;
            Array.Clear(_slabState, 0, _slabs);
            Tasks = _tasksM * Math.Min(_tasksN, _slabs);
        }

        public void Clear() { _g = default; _bPack = null; }

        /// <summary>
        /// Task (tm, tn): packs the rows of row chunk tm into this thread's A buffer, then runs the
        /// micro-kernel over every (B micro-panel of column chunk tn) × (A micro-panel).
        /// </summary>
        public void Execute(int task)
        {
            int tasksN = Tasks / _tasksM;
            int tm = task / tasksN;
            var (p0, p1) = WorkerPool.Chunk(tm, _tasksM, _mPanels);
            var (s0, s1) = WorkerPool.Chunk(task % tasksN, tasksN, _slabs);
            int mr = _bl.MR, nr = _bl.NR, kc = _kc;

            // A buffer: [panelsPerTask][kc][MR] + slack, then one MR×NR tile for edge tiles.
            nint aFloats = (nint)_panelsPerTaskM * _bl.KC * mr + PackSlack;
            float* aPack = ThreadScratch.A.Get(aFloats + mr * nr);
            float* tile = aPack + aFloats;

            for (int ip = p0; ip < p1; ip++)
            {
                int i = ip * mr;
                int valid = Math.Min(mr, _g.M - i);
                float* dst = aPack + (nint)(ip - p0) * kc * mr;
                if (_g.TransA) // A stored [k,m]: step p is row pc+p, columns i..i+mr (contiguous)
                    PackCopy(dst, _g.A + (nint)_pc * _g.Lda + i, _g.Lda, mr, valid, kc);
                else           // A stored [m,k]: step p is column pc+p of rows i..i+mr
                    PackTranspose(dst, _g.A + (nint)i * _g.Lda + _pc, _g.Lda, mr, valid, kc);
            }

            // Concurrent tasks (consecutive row chunks) start 1/threads of the way apart.
            int slabCount = s1 - s0;
            int start = (int)((long)(tm % _threads) * slabCount / _threads);
            Blocking bl = _bl;
            float alpha = _g.Alpha, beta = _beta;
            nint ldc = _g.Ldc;
            float* bias = _pc == 0 ? _g.Bias : null;   // added by the first K block's stores only
            for (int n = 0; n < slabCount; n++)
            {
                int slab = s0 + (start + n) % slabCount;
                int q0 = slab * _panelsPerSlab, q1 = Math.Min(_nPanels, q0 + _panelsPerSlab);
                EnsurePacked(slab, q0, q1);
                for (int q = q0; q < q1; q++)
                {
                    int j = q * nr;
                    int nValid = Math.Min(nr, _nc - j);
                    float* bp = _bPack + (nint)q * kc * nr;
                    float* cCol = _g.C + _jc + j;
                    float* biasCol = bias == null ? null : bias + _jc + j;
                    for (int ip = p0; ip < p1; ip++)
                    {
                        int i = ip * mr;
                        int mValid = Math.Min(mr, _g.M - i);
                        float* ap = aPack + (nint)(ip - p0) * kc * mr;
                        Tile(in bl, kc, ap, bp, cCol + i * ldc, ldc, mValid, nValid, alpha, beta, biasCol, tile);
                    }
                }
            }
        }

        /// <summary>Packs B micro-panels [q0, q1) of this block unless another task did or is doing so; then waits until they are ready.</summary>
        void EnsurePacked(int slab, int q0, int q1)
        {
            ref int state = ref _slabState[slab];
            if (Volatile.Read(ref state) == Ready) return;
            if (Interlocked.CompareExchange(ref state, Packing, Unpacked) == Unpacked)
            {
                PackBPanels(q0, q1);
                Volatile.Write(ref state, Ready);
                return;
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref state) != Ready) spin.SpinOnce(sleep1Threshold: -1);
        }

        /// <summary>Bpanel micro-panels [q0, q1): op(B)[pc:pc+kc, jc+q*NR : jc+(q+1)*NR], zero past n.</summary>
        void PackBPanels(int q0, int q1)
        {
            int nr = _bl.NR;
            for (int q = q0; q < q1; q++)
            {
                int j = _jc + q * nr;
                int valid = Math.Min(nr, _jc + _nc - j);
                float* dst = _bPack + (nint)q * _kc * nr;
                if (_g.BHalf != null) PackHalfBPanel(in _g, dst, j, valid, _pc, _kc, nr);
                else if (_g.TransB) // B stored [n,k]: step p of the panel is column pc+p of rows j..j+nr
                    PackTranspose(dst, _g.B + (nint)j * _g.Ldb + _pc, _g.Ldb, nr, valid, _kc);
                else           // B stored [k,n]: step p is row pc+p, columns j..j+nr (contiguous)
                    PackCopy(dst, _g.B + (nint)_pc * _g.Ldb + j, _g.Ldb, nr, valid, _kc);
            }
        }
    }

    /// <summary>Every row of C[m,n] = bias[0..n).</summary>
    static unsafe void FillRows(float* c, int ldc, int m, int n, float* bias)
    {
        var row = new ReadOnlySpan<float>(bias, n);
        for (int i = 0; i < m; i++) row.CopyTo(new Span<float>(c + (nint)i * ldc, n));
    }

    /// <summary>C[m,n] = beta * C (beta == 0: zeros, C not read). The k == 0 / alpha == 0 case.</summary>
    static unsafe void ScaleC(float* c, int ldc, int m, int n, float beta)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (nint)i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>
    /// Batched products. Many small products (attention: e.g. 96 heads of [148,64]·[64,148]) run
    /// whole, one per task, so threads never synchronise inside a product; a few big ones run
    /// one after another, each spread over the pool.
    /// </summary>
    static unsafe void ExecuteBatched(in GemmArgs g, long strideA, long strideB, long strideC, int batch)
    {
        long flops = 2L * g.M * g.N * g.K;
        int threads = WorkerPool.ThreadCount;
        bool acrossBatch = threads > 1 && batch >= 2 * threads || flops < ParallelMinFlops * 8 && batch > 1;
        if (!acrossBatch)
        {
            for (int i = 0; i < batch; i++)
            {
                GemmArgs gi = g;
                gi.A += i * strideA; gi.B += i * strideB; gi.C += i * strideC;
                Execute(in gi, parallel: true);
            }
            return;
        }
        var job = t_batchJob ??= new BatchJob();
        job.G = g;
        job.StrideA = strideA; job.StrideB = strideB; job.StrideC = strideC;
        job.Batch = batch;
        job.Tasks = WorkerPool.TasksFor(batch, flops);
        try { WorkerPool.Run(job, job.Tasks); }
        finally { job.G = default; }
    }

    [ThreadStatic] static BatchJob? t_batchJob;

    /// <summary>A chunk of the batch per task; each product runs single-threaded with that thread's buffers.</summary>
    sealed unsafe class BatchJob : IParallelJob
    {
        public GemmArgs G;
        public long StrideA, StrideB, StrideC;
        public int Batch, Tasks;

        public void Execute(int index)
        {
            var (start, end) = WorkerPool.Chunk(index, Tasks, Batch);
            for (int i = start; i < end; i++)
            {
                GemmArgs gi = G;
                gi.A += i * StrideA; gi.B += i * StrideB; gi.C += i * StrideC;
                Sgemm.Execute(in gi, parallel: false);
            }
        }
    }
}
