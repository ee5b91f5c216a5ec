using System.Diagnostics;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>A unit of parallel work: task <c>index</c> of a run of <c>count</c> tasks.</summary>
public interface IParallelJob
{
    void Execute(int index);
}

/// <summary>
/// The engine's one thread pool: persistent workers that spin briefly between runs (GEMM calls
/// come back to back) and then sleep. A spinning worker yields its core at each turn of the spin: with
/// no other runnable thread that returns at once, and in a server it lets the request threads run on the
/// core the worker would otherwise burn (`bench serve`, 2 cores: 10 % more requests/s with a stored
/// prompt at 8 and 32 clients, decoding unchanged within the machine's noise). The calling thread takes part, so a pool of N threads
/// uses N-1 workers. Tasks are claimed dynamically, so uneven tasks balance themselves.
/// A run started from inside a job executes inline (no nested parallelism), and runs from
/// different threads are serialised. Nothing is allocated per run.
/// </summary>
public static class WorkerPool
{
    // state = (generation << 32) | nextTask. A run first "closes" the new generation (nextTask
    // huge) before writing job/count, so a worker that saw the previous generation can never
    // claim a task of the new one with the old job: its compare-exchange on the old word fails.
    const int Closed = int.MaxValue;
    static long _state;
    static IParallelJob? _job;
    static int _count;
    static int _pending;
    static int _sleeping;
    static Exception? _error;
    static readonly SemaphoreSlim Wake = new(0);
    static readonly object RunLock = new();
    static readonly Thread[] Workers;
    [ThreadStatic] static bool _insideJob;

    /// <summary>Parallel runs so far, and how many of them had to wake a sleeping worker (benches count a step's dispatch cost with these).</summary>
    public static long Runs => Volatile.Read(ref _runs);
    public static long Wakeups => Volatile.Read(ref _wakeups);
    static long _runs, _wakeups;

    /// <summary>Threads that execute a run, the caller included.</summary>
    public static int ThreadCount { get; }

    /// <summary>Whether this thread is executing a task of a run (a run started here executes inline, on this thread alone).</summary>
    internal static bool InsideJob => _insideJob;

    /// <summary>How long an idle worker spins before it sleeps.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms

    static WorkerPool()
    {
        int threads = Environment.ProcessorCount;
        string? env = Environment.GetEnvironmentVariable("SOFTPROMPT_THREADS");
        if (env is not null && int.TryParse(env, out int n) && n > 0) threads = n;
        ThreadCount = Math.Max(1, threads);
        _state = (1L << 32) | Closed;
        Workers = new Thread[ThreadCount - 1];
        for (int i = 0; i < Workers.Length; i++)
        {
            Workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"softprompt-worker-{i}" };
            Workers[i].Start();
        }
    }

    /// <summary>Executes <paramref name="job"/> for every index in [0, count) and returns when all are done.</summary>
    public static void Run(IParallelJob job, int count)
    {
        if (count <= 0) return;
        if (count == 1 || _insideJob || Workers.Length == 0)
        {
            for (int i = 0; i < count; i++) job.Execute(i);
            return;
        }
        lock (RunLock)
        {
            long gen = (Volatile.Read(ref _state) >> 32) + 1;
            Interlocked.Exchange(ref _state, (gen << 32) | Closed);
            _job = job;
            _count = count;
            _error = null;
            Volatile.Write(ref _pending, count);
            Interlocked.Exchange(ref _state, gen << 32);
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) { Wake.Release(sleeping); _wakeups++; }
            _runs++;

            _insideJob = true;
            try { Work(gen, job, count); }
            finally { _insideJob = false; }

            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
            _job = null;
            if (_error is { } e) { _error = null; throw new AggregateException("A parallel task failed.", e); }
        }
    }

    /// <summary>Claims and executes tasks of generation <paramref name="gen"/> until none are left.</summary>
    static void Work(long gen, IParallelJob job, int count)
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            if (s >> 32 != gen) return;
            int next = (int)(s & 0xFFFFFFFF);
            if (next >= count) return;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            try { job.Execute(next); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            Interlocked.Decrement(ref _pending);
        }
    }

    static void WorkerLoop()
    {
        _insideJob = true;
        long done = 1;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            long s;
            while (true)
            {
                s = Volatile.Read(ref _state);
                if (s >> 32 != done && (int)(s & 0xFFFFFFFF) != Closed) break;
                if (Stopwatch.GetTimestamp() - start > SpinTicks)
                {
                    Interlocked.Increment(ref _sleeping);
                    s = Volatile.Read(ref _state);
                    if (s >> 32 == done || (int)(s & 0xFFFFFFFF) == Closed) Wake.Wait();
                    Interlocked.Decrement(ref _sleeping);
                    start = Stopwatch.GetTimestamp();
                }
                else Thread.Yield();
            }
            long gen = s >> 32;
            // Read job and count after the state: if the state still holds this generation when a
            // task is claimed, these belong to it (see the comment on _state).
            IParallelJob? job = _job;
            int count = _count;
            if (job is not null) Work(gen, job, count);
            done = gen;
        }
    }

    /// <summary>The half-open range of <paramref name="n"/> items that task <paramref name="task"/> of <paramref name="tasks"/> owns.</summary>
    public static (int Start, int End) Chunk(int task, int tasks, int n)
    {
        int q = n / tasks, r = n % tasks;
        int start = task * q + Math.Min(task, r);
        return (start, start + q + (task < r ? 1 : 0));
    }

    /// <summary>A good task count for <paramref name="n"/> items of about <paramref name="costPerItem"/> flops each.</summary>
    public static int TasksFor(int n, long costPerItem)
    {
        const long minWorkPerTask = 32_768;
        long total = (long)n * Math.Max(1, costPerItem);
        long tasks = Math.Min(n, Math.Min(ThreadCount * 4L, Math.Max(1, total / minWorkPerTask)));
        return (int)Math.Max(1, tasks);
    }
}
