using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;

namespace SoftPrompt.Bench.Step;

/// <summary>
/// <c>bench step</c>: one prompt-tuning training step (forward, backward into the prompt, AdamW) on
/// the GPT-2-small-shaped stack, timed next to the same step in PyTorch (bench/reference/), run in
/// the same invocation. <c>--check</c> instead runs a tiny configuration in both and compares the numbers.
/// </summary>
public static class StepBench
{
    public static List<BenchRow> Run(BenchArgs args)
    {
        if (args.Has("check")) return Check(args);
        var shape = new StepShape();
        int steps = args.GetInt("steps", 5), warmup = args.GetInt("warmup", 2);

        Console.Error.WriteLine($"measuring the machine's fp32 peak on {Tensors.Kernels.WorkerPool.ThreadCount} threads …");
        double peak = PeakFlops.Measure();

        var rng = new Rng(1234);
        var model = new Gpt2PromptStack(shape, rng);
        var (ids, targets) = RandomBatch(shape, rng);
        var opt = new AdamW([model.Prompt], lr: 1e-3f, weightDecay: 0.01f);
        ulong frozenBefore = Checksum(model.FrozenWeights());

        var times = new List<double>();
        long allocatedAfterWarmup = 0, poolMissesAfterWarmup = 0;
        for (int i = 0; i < warmup + steps; i++)
        {
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true), misses0 = BufferPool.Allocations;
            var sw = Stopwatch.StartNew();
            float loss;
            using (TensorScope.Begin())
            {
                opt.ZeroGrad();
                var l = model.Loss(ids, targets);
                loss = l.Item();
                l.Backward();
                opt.Step();
            }
            double dt = sw.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"{(i < warmup ? "warmup" : "step"),-6} {i,2}: {dt,7:F3} s  loss {loss:F6}");
            if (i >= warmup)
            {
                times.Add(dt);
                allocatedAfterWarmup = Math.Max(allocatedAfterWarmup, GC.GetTotalAllocatedBytes(precise: true) - bytes0);
                poolMissesAfterWarmup += BufferPool.Allocations - misses0;
            }
        }
        if (Checksum(model.FrozenWeights()) != frozenBefore) throw new InvalidOperationException("a frozen weight changed during training");
        double median = Statistics.Median(times);
        double rssMib = PeakRssMib();

        var rows = new List<BenchRow>();
        var refs = args.Has("noref") ? [] : new[] { "default", "tuned" }.Select(mode => (mode, Reference.RunStep(mode, steps))).ToList();
        foreach (var (mode, r) in refs)
        {
            rows.Add(new BenchRow($"step time vs PyTorch {mode}", median, r?.StepSeconds, "s", LowerIsBetter: true, Note: r?.Note ?? CoreTypeNote));
        }
        var tuned = refs.FirstOrDefault(x => x.mode == "tuned").Item2;
        rows.Add(new BenchRow("peak memory vs PyTorch tuned", rssMib, tuned?.PeakRssMib, "MiB", LowerIsBetter: true));
        rows.Add(new BenchRow("matmul GFLOP per step", shape.MatmulFlops / 1e9, null, "GFLOP"));
        rows.Add(new BenchRow("achieved GFLOP/s (matmul FLOPs / step time)", shape.MatmulFlops / 1e9 / median,
            tuned is null ? null : shape.MatmulFlops / 1e9 / tuned.StepSeconds, "GFLOP/s"));
        rows.Add(new BenchRow("fraction of measured FMA peak", shape.MatmulFlops / 1e9 / median / peak,
            tuned is null ? null : shape.MatmulFlops / 1e9 / tuned.StepSeconds / peak, "×peak"));
        rows.Add(new BenchRow("measured FMA peak", peak, null, "GFLOP/s"));
        rows.Add(new BenchRow("managed bytes allocated per step after warm-up", allocatedAfterWarmup / 1024.0, null, "KiB"));
        rows.Add(new BenchRow("new pooled buffers per step after warm-up", poolMissesAfterWarmup / (double)steps, null, "buffers"));
        return rows;
    }

    /// <summary>PyTorch's matmuls run on OpenBLAS, whose kernel an inherited OPENBLAS_CORETYPE may force.</summary>
    static string? CoreTypeNote => Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } core
        ? $"OPENBLAS_CORETYPE={core} is set: PyTorch's OpenBLAS uses that kernel, not its best one for this CPU (bench/run unsets it)"
        : null;

    /// <summary>Random ids and their next-token targets (the last real position has none).</summary>
    static (int[] Ids, int[] Targets) RandomBatch(StepShape s, Rng rng)
    {
        var ids = new int[s.Batch * s.Seq];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(s.Vocab);
        return (ids, NextTokenTargets(ids, s));
    }

    static int[] NextTokenTargets(int[] ids, StepShape s)
    {
        var targets = new int[ids.Length];
        for (int b = 0; b < s.Batch; b++)
            for (int t = 0; t < s.Seq; t++)
                targets[b * s.Seq + t] = t + 1 < s.Seq ? ids[b * s.Seq + t + 1] : Tensors.Ops.Functional.IgnoreIndex;
        return targets;
    }

    /// <summary>Runs the reference with <c>--check</c> on a tiny shape and compares loss, prompt gradient and the updated prompt.</summary>
    static List<BenchRow> Check(BenchArgs args)
    {
        var s = new StepShape(Layers: 2, D: 64, Heads: 4, Vocab: 97, Positions: 64, Seq: 12, Batch: 3, Prompt: 5);
        string file = Path.Combine(Path.GetTempPath(), $"softprompt-step-check-{Environment.ProcessId}.json");
        string extra = $"--check {file} --layers {s.Layers} --d {s.D} --heads {s.Heads} --vocab {s.Vocab} --positions {s.Positions} --seq {s.Seq} --batch {s.Batch} --prompt {s.Prompt} --dtype float64";
        string? note = Reference.Run("default", extra, out _);
        if (note is not null) throw new InvalidOperationException("step --check needs the PyTorch reference: " + note);
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        float[] Flat(JsonElement e) => e.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        var weights = root.GetProperty("weights");
        var model = new Gpt2PromptStack(s, (name, shape) => Tensor.FromArray(
            name == "prompt" ? Flat(root.GetProperty("inputs").GetProperty("prompt_init")) : Flat(weights.GetProperty(name)), shape));
        int[] ids = root.GetProperty("inputs").GetProperty("ids").GetProperty("data").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var opt = new AdamW([model.Prompt], lr: 1e-3f, weightDecay: 0.01f);
        var loss = model.Loss(ids, NextTokenTargets(ids, s));
        loss.Backward();
        float lossValue = loss.Item();
        float[] grad = model.Prompt.Grad!.ToArray();
        opt.Step();
        File.Delete(file);
        return
        [
            new BenchRow("check: loss", lossValue, root.GetProperty("loss").GetDouble(), ""),
            new BenchRow("check: max rel. error of the prompt gradient", MaxRelError(grad, Flat(root.GetProperty("prompt_grad"))), null, ""),
            new BenchRow("check: max rel. error of the prompt after AdamW", MaxRelError(model.Prompt.ToArray(), Flat(root.GetProperty("prompt_after_step"))), null, ""),
        ];
    }

    static double MaxRelError(float[] ours, float[] reference)
    {
        double scale = reference.Max(v => Math.Abs((double)v)), worst = 0;
        for (int i = 0; i < ours.Length; i++)
            worst = Math.Max(worst, Math.Abs(ours[i] - reference[i]) / Math.Max(Math.Abs(reference[i]), 1e-3 * scale));
        return worst;
    }

    static ulong Checksum(IEnumerable<Tensor> tensors)
    {
        ulong h = 1469598103934665603UL;
        foreach (var t in tensors)
            foreach (int bits in System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(t.Span))
                h = (h ^ (uint)bits) * 1099511628211UL;
        return h;
    }

    /// <summary>This process's peak resident set (VmHWM), in MiB.</summary>
    static double PeakRssMib()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }
}
