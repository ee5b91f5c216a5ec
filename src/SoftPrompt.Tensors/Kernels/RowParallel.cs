namespace SoftPrompt.Tensors.Kernels;

/// <summary>Row-parallel loops on the shared <see cref="WorkerPool"/>: each task gets a contiguous block of rows.</summary>
public static class RowParallel
{
    sealed class Job(Action<int, int> body, int rows, int tasks) : IParallelJob
    {
        public void Execute(int index)
        {
            var (s, e) = WorkerPool.Chunk(index, tasks, rows);
            if (s < e) body(s, e);
        }
    }

    /// <summary>Calls <paramref name="body"/>(start, end) over blocks covering [0, rows); <paramref name="costPerRow"/> (≈ flops) decides how many tasks pay off.</summary>
    public static void For(int rows, long costPerRow, Action<int, int> body)
    {
        if (rows <= 0) return;
        int tasks = WorkerPool.TasksFor(rows, costPerRow);
        if (tasks == 1) { body(0, rows); return; }
        WorkerPool.Run(new Job(body, rows, tasks), tasks);
    }

    /// <summary>
    /// Calls <paramref name="body"/>(start, length) over [0, <paramref name="length"/>) in blocks of
    /// <paramref name="blockLength"/> elements, the blocks shared out as in <see cref="For"/> by
    /// <paramref name="costPerBlock"/> (≈ flops). For elementwise kernels: the result does not depend on the split,
    /// and a block small enough to stay in cache keeps any per-block scratch there.
    /// </summary>
    public static void ForBlocks(int length, int blockLength, long costPerBlock, Action<int, int> body)
    {
        int blocks = (length + blockLength - 1) / blockLength;
        For(blocks, costPerBlock, (s, e) =>
        {
            for (int blk = s; blk < e; blk++)
            {
                int start = blk * blockLength;
                body(start, Math.Min(blockLength, length - start));
            }
        });
    }

    sealed class TaskJob(Action<int> body) : IParallelJob
    {
        public void Execute(int index) => body(index);
    }

    /// <summary>Calls <paramref name="body"/>(task) for every task in [0, tasks), e.g. when each task keeps a private partial sum.</summary>
    public static void ForTasks(int tasks, Action<int> body)
    {
        if (tasks == 1) { body(0); return; }
        WorkerPool.Run(new TaskJob(body), tasks);
    }
}
