using System.Diagnostics;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// Batched decoding as the server runs it: a DecodeBatch (continuous batching) of R sequences with prompts of
/// different lengths (32–160 tokens) under different plans — none, a 10-token key/value prefix, 8 soft tokens, a
/// rank-8 LoRA on every c_attn — started in one pass, then --steps steps timed (median step of two passes). Gives
/// tokens/s per row and in all, and the step time against R=1: at small R a step still reads every weight once (the
/// time stays flat); past the point where 2·params·R flops outlast the weights' bytes at the measured bandwidth
/// it turns compute-bound and grows with R.
/// </summary>
public static class BatchedDecode
{
    /// <summary>StartMs / StartBytes: the first pass over every prompt (DecodeBatch.Start), wall time and bytes allocated.</summary>
    public sealed record Result(int Rows, double StepMs, double TokensPerSecond, double StartMs, long StartBytes)
    {
        public double PerRow => TokensPerSecond / Rows;
    }

    public static Result Measure(ICausalLanguageModel model, int rows, int steps)
    {
        var rng = new Rng((ulong)(1000 + rows));
        var c = model.Config;
        var requests = Enumerable.Range(0, rows).Select(r =>
        {
            int length = 32 + rng.NextInt(129);
            var prompt = Enumerable.Range(0, length).Select(_ => rng.NextInt(c.VocabSize)).ToArray();
            return ((IReadOnlyList<int>)prompt, new GenerationOptions(MaxNewTokens: 2 * steps + 8), Plan(model, rng, r % 4));
        }).ToList();
        var batch = new DecodeBatch(model);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var start = Stopwatch.StartNew();
        batch.Start(requests);
        double startMs = start.Elapsed.TotalMilliseconds;
        long startBytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        batch.Step();   // warm-up: the batch's cache is regrouped once here
        var times = new List<double>();
        for (int pass = 0; pass < 2; pass++)
        {
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < steps; s++) batch.Step();
            times.Add(sw.Elapsed.TotalMilliseconds / steps);
        }
        double step = times.Min();
        return new Result(rows, step, rows * 1000 / step, startMs, startBytes);
    }

    static RowPlan? Plan(ICausalLanguageModel model, Rng rng, int kind)
    {
        var c = model.Config;
        Tensor Random(float std, params int[] shape) { var t = Tensor.ZerosOnHeap(shape); rng.FillNormal(t.Span, 0f, std); return t; }
        int width = c.KvHeads * c.HeadDim;
        return kind switch
        {
            1 => new RowPlan { Prefix = new KvPrefix([.. Enumerable.Range(0, c.Layers).Select(_ => Random(1f, 10, width))], [.. Enumerable.Range(0, c.Layers).Select(_ => Random(1f, 10, width))]) },
            2 => new RowPlan { SoftTokens = [new(0, Random(0.1f, 8, c.HiddenSize))] },
            3 => new RowPlan
            {
                Deltas = [.. model.LinearLayers.Where(l => l.Name.EndsWith("attn.c_attn", StringComparison.Ordinal))
                    .Select(l => new LowRankDelta(l.Name, Random(0.02f, 8, l.InFeatures), Random(0.02f, l.OutFeatures, 8), 2f))],
            },
            _ => null,
        };
    }
}
