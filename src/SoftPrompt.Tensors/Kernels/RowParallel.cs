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
