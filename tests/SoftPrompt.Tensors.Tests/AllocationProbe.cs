namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Managed bytes a warmed-up call allocates on the calling thread. A per-call allocation shows in every window of calls;
/// a one-off by the runtime (a contended lock when other tests run GEMMs at the same time, seen once as 3,208 bytes)
/// shows in one, so the least of a few windows is the call's own.
/// </summary>
static class AllocationProbe
{
    public static long LeastBytesPerWindow(Action call, int callsPerWindow = 5, int windows = 3)
    {
        long least = long.MaxValue;
        for (int w = 0; w < windows && least > 0; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerWindow; i++) call();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
