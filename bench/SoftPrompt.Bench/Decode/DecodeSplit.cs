using System.Diagnostics;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// Where a batch-1 decoding step goes, measured inside a real generation (one more run with OpClock on, after the
/// timed ones): ms a token in matrix-vector products (every linear and the head), attention over the cache and
/// layer norms, and writing the new keys and values into the cache (KvCache.Append: its first touch of a page is a page fault); greedy sampling timed alone on a row of logits (it runs outside the model); the rest of the step
/// is everything else (embedding, residual adds, GELU, the model's plan and option plumbing, tensor allocation,
/// dispatch). Also per token: parallel runs of the worker pool, how many had to wake a sleeping worker, and the
/// bytes the calling thread allocated.
/// </summary>
public static class DecodeSplit
{
    public sealed record Parts(double Step, double MatVec, double Attention, double Norms, double CacheWrites, double Sampling, double Runs, double Wakeups, double Bytes)
    {
        public double Rest => Step - MatVec - Attention - Norms - CacheWrites - Sampling;
    }

    public static Parts Measure(ICausalLanguageModel model, int[] prompt, int newTokens)
    {
        var o = new GenerationOptions(MaxNewTokens: newTokens + 1);
        using var steps = Generator.Generate(model, prompt, o).GetEnumerator();
        steps.MoveNext();   // the prefill and the first token stay out
        OpClock.Reset();
        OpClock.Enabled = true;
        long runs0 = WorkerPool.Runs, wake0 = WorkerPool.Wakeups, bytes0 = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        int n = 0;
        try { while (steps.MoveNext()) n++; }
        finally { OpClock.Enabled = false; }
        double step = sw.Elapsed.TotalMilliseconds / n;
        double bytes = (GC.GetAllocatedBytesForCurrentThread() - bytes0) / (double)n;
        double runs = (WorkerPool.Runs - runs0) / (double)n, wakeups = (WorkerPool.Wakeups - wake0) / (double)n;

        var logits = new float[model.Config.VocabSize];
        new Rng(5).FillNormal(logits, 0, 1);
        var seen = new List<int>(prompt);
        var times = new List<double>();
        for (int i = 0; i < 53; i++)
        {
            var t = Stopwatch.StartNew();
            Sampling.Choose(logits, seen, new GenerationOptions(), new Rng(1));
            if (i >= 3) times.Add(t.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return new Parts(step, OpClock.Milliseconds(OpClock.Kind.MatVec) / n, OpClock.Milliseconds(OpClock.Kind.Attention) / n,
            OpClock.Milliseconds(OpClock.Kind.Norm) / n, OpClock.Milliseconds(OpClock.Kind.CacheWrite) / n, times[times.Count / 2], runs, wakeups, bytes);
    }
}
