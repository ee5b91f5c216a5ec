using System.Diagnostics;
using SoftPrompt.Bench.Generate;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// <c>bench decode</c>: batch-1 decoding of GPT-2 small (random weights, tied head) held in float32 and in bf16,
/// against llama.cpp's llama-bench on the same shape in the same run (LlamaBench), next to the machine's
/// read bandwidth (MemoryBandwidth) and FMA peak (PeakFlops). Ours: Generator.Generate over a 128-token
/// random prompt, greedy; the first token's time is the prefill (pp, logits at the last position as
/// llama-bench's), the next --new tokens the decode (tg after a 128-token context). Median of --runs rounds.
/// Each decode figure is also given as GB/s of weights read (every linear and the head, once a token) and
/// as a fraction of the bandwidth measured in the same rounds (a measure before each round, their median: a shared host's
/// bandwidth moves by half from minute to minute); the step is split into its parts (DecodeSplit).
/// Batched decoding (BatchedDecode) at 2–32 rows follows each storage. llama-bench has no batched-decoding test (llama.cpp's
/// is the separate llama-batched-bench, which the anchor does not build), so those rows compare with our own single row.
/// Options: --new N (128), --runs N (rounds of ours then llama-bench, 5), --reps N (llama-bench repetitions a round, 1), --batch-steps N (16), --batch-rows LIST (2,4,8,16,32), --nobatch, --noref,
/// --llama-bench PATH; --shapes: GB/s of each matrix-vector shape instead (GemvShapes); --pages / --align: 2 MiB against 4 KiB pages, or weights on 64-byte lines against not, instead (StorageLayoutAB).
/// </summary>
public static class DecodeBench
{
    const int PromptTokens = 128;

    /// <summary>Weight elements a batch-1 step reads: q, k, v, c_proj, c_fc, mlp.c_proj of each layer, and the tied head.</summary>
    public static long WeightElementsPerToken(int d = RandomGpt2Checkpoint.D, int layers = RandomGpt2Checkpoint.Layers, int vocab = RandomGpt2Checkpoint.Vocab) =>
        layers * (4L * d * d + 2L * d * 4 * d) + (long)vocab * d;

    public static List<BenchRow> Run(BenchArgs args)
    {
        int newTokens = args.GetInt("new", 128), runs = args.GetInt("runs", 5), reps = args.GetInt("reps", 1), batchSteps = args.GetInt("batch-steps", 16);
        int[] batchRows = (args.Get("batch-rows") ?? "2,4,8,16,32").Split(',').Select(int.Parse).ToArray();
        string root = Step.Reference.RepoRoot();
        string dir = RandomGpt2Checkpoint.Ensure(root);
        using var probe = new MemoryBandwidth.Probe();
        double bandwidth = probe.Measure();
        double peak = args.Has("shapes") || args.Has("pages") || args.Has("align") ? 0 : PeakFlops.Measure();
        Console.Error.WriteLine($"machine: read bandwidth {bandwidth:F1} GB/s, fp32 FMA peak {peak:F0} GFLOP/s, {WorkerPool.ThreadCount} threads, load {File.ReadAllText("/proc/loadavg").Trim()}");
        if (args.Has("shapes")) return GemvShapes.Run(bandwidth);
        string llamaNote = "--noref: llama.cpp was not run";
        string? llama = args.Has("noref") ? null : LlamaBench.Find(args, root, out llamaNote);

        var rows = new List<BenchRow>
        {
            new("read bandwidth, all threads (STREAM-like read of 1 GiB)", bandwidth, null, "GB/s"),
            new("fp32 FMA peak, all threads", peak, null, "GFLOP/s"),
        };
        var rng = new Rng(42);
        var prompt = Enumerable.Range(0, PromptTokens).Select(_ => rng.NextInt(RandomGpt2Checkpoint.Vocab)).ToArray();
        if (args.Has("pages") || args.Has("align")) return [.. rows, .. StorageLayoutAB.Run(args, dir, prompt, newTokens)];
        foreach (var (name, storage, bytes) in new[] { ("f32", WeightStorage.Float32, 4), ("bf16", WeightStorage.BFloat16, 2) })
        {
            long collapsedBefore = HugePages.BytesCollapsed;
            var model = Gpt2Model.Load(dir, storage);
            Console.Error.WriteLine($"{name} weights ({WeightElementsPerToken() * bytes / 1e6:F0} MB): {(HugePages.BytesCollapsed - collapsedBefore) / 1e6:F0} MB of 2 MiB pages cover them" +
                (HugePages.Enabled ? "" : " (SOFTPROMPT_HUGEPAGES=0)"));
            Once(model, prompt, 8);
            // Rounds that alternate ours and llama-bench (one repetition each), so both see the same machine: others' jobs come and go.
            var results = new List<(double Prefill, double Decode)>();
            var bandwidths = new List<double>();   // measured in every round, beside the decoding it bounds
            var theirs = new List<LlamaBench.Result>();
            var roundRatios = new List<double>();   // ours / theirs within a round: the machine's drift between rounds cancels
            string note = llamaNote;
            for (int round = 0; round < runs; round++)
            {
                bandwidths.Add(probe.Measure(3));
                results.Add(Once(model, prompt, newTokens));
                if (llama is not null && LlamaBench.Run(llama, name, WorkerPool.ThreadCount, PromptTokens, newTokens, reps, out note) is { } r)
                {
                    theirs.Add(r);
                    roundRatios.Add(results[^1].Decode / r.Decode);
                }
            }
            double prefill = Median(results.Select(r => r.Prefill)), decode = Median(results.Select(r => r.Decode));
            LlamaBench.Result? reference = theirs.Count == 0 ? null
                : new(Median(theirs.Select(r => r.Prefill)), Median(theirs.Select(r => r.Decode)), theirs[0].Command);
            double roundsBandwidth = Median(bandwidths);
            rows.Add(new($"read bandwidth during the {name} rounds (median of a measure a round)", roundsBandwidth, null, "GB/s"));
            double gbs = WeightElementsPerToken() * bytes / 1e9 * decode;
            Console.Error.WriteLine($"ours {name}: prefill {prefill:F1} tok/s, decode {decode:F2} tok/s = {gbs:F1} GB/s of weights ({gbs / roundsBandwidth:P0} of {roundsBandwidth:F1}); " +
                $"llama.cpp {(reference is null ? "-" : $"{reference.Prefill:F1} / {reference.Decode:F2}")}");
            rows.Add(new($"decode tok/s, batch 1, {name} weights, {newTokens} tokens after {PromptTokens} (tg{newTokens}@d{PromptTokens}; higher is better)", decode, reference?.Decode, "tok/s", Note: note));
            if (roundRatios.Count > 0)
            {
                Console.Error.WriteLine($"ours {name} / llama.cpp decode, round by round: {string.Join(" ", roundRatios.Select(x => x.ToString("F3")))}");
                rows.Add(new($"decode {name}: ours / llama.cpp within each round, median of {roundRatios.Count} (range {roundRatios.Min():F2}–{roundRatios.Max():F2})", Median(roundRatios), 1.0, "x"));
            }
            rows.Add(new($"decode {name}: GB/s of weights read vs the read bandwidth (ratio = fraction of it)", gbs, roundsBandwidth, "GB/s"));
            if (reference is not null)
                rows.Add(new($"llama.cpp decode {name}: GB/s of weights read vs the read bandwidth", WeightElementsPerToken() * bytes / 1e9 * reference.Decode, roundsBandwidth, "GB/s"));
            rows.Add(new($"prefill tok/s, batch 1, {name} weights, {PromptTokens} tokens (pp{PromptTokens}; higher is better)", prefill, reference?.Prefill, "tok/s", Note: note));

            var split = DecodeSplit.Measure(model, prompt, newTokens);
            Console.Error.WriteLine($"ours {name} step {split.Step:F2} ms (clocked run): matrix-vector {split.MatVec:F2}, attention {split.Attention:F3}, norms {split.Norms:F3}, cache writes {split.CacheWrites:F3}, " +
                $"sampling {split.Sampling:F3}, rest {split.Rest:F2}; {split.Runs:F0} pool runs, {split.Wakeups:F1} wake-ups, {split.Bytes / 1024:F1} KiB allocated a token");
            foreach (var (part, ms) in new[] { ("matrix-vector products (linears + head)", split.MatVec), ("attention over the cache", split.Attention),
                         ("layer norms", split.Norms), ("cache writes", split.CacheWrites), ("greedy sampling", split.Sampling), ("the rest (embedding, adds, GELU, plan, allocation, dispatch)", split.Rest) })
                rows.Add(new($"decode {name} step split: {part}, ms vs the whole step (ratio = share)", ms, split.Step, "ms", LowerIsBetter: true));
            rows.Add(new($"decode {name}: worker-pool runs a token (wake-ups of a sleeping worker: {split.Wakeups:F1})", split.Runs, null, "runs"));
            rows.Add(new($"decode {name}: bytes allocated a token (GC, calling thread)", split.Bytes, null, "B"));

            // Batched (continuous batching, mixed plans and lengths): per row and in all, and where the step turns compute-bound.
            if (!args.Has("nobatch"))
            {
                var one = BatchedDecode.Measure(model, 1, batchSteps);
                double turn = WeightElementsPerToken() * bytes / roundsBandwidth / (2.0 * WeightElementsPerToken() / peak);   // rows where flops outlast the bytes
                foreach (int r in batchRows)
                {
                    // each row count from an empty pool: the previous one's buffers (other sizes) would only crowd it
                    SoftPrompt.Tensors.Memory.BufferPool.Trim();
                    GC.Collect();
                    var b = BatchedDecode.Measure(model, r, batchSteps);
                    Console.Error.WriteLine($"ours {name} batched, {r} rows: step {b.StepMs:F2} ms ({b.StepMs / one.StepMs:F2}x one row's {one.StepMs:F2}), {b.PerRow:F1} tok/s a row, {b.TokensPerSecond:F1} in all; first pass {b.StartMs / 1000:F1} s, {b.StartBytes / 1e9:F2} GB allocated; " +
                        $"buffer pool holds {SoftPrompt.Tensors.Memory.BufferPool.PooledBytes / 1048576.0:F0} MiB, GC heap {GC.GetTotalMemory(false) / 1048576.0:F0} MiB");
                    if (r is 8 or 32)
                    {
                        rows.Add(new($"batched decode {name}, {r} rows (mixed lengths and plans): tok/s in all vs one row", b.TokensPerSecond, one.TokensPerSecond, "tok/s"));
                        rows.Add(new($"batched decode {name}, {r} rows: tok/s a row vs one row alone", b.PerRow, one.TokensPerSecond, "tok/s"));
                    }
                    rows.Add(new($"batched decode {name}: step time, {r} rows vs 1 (flat while memory-bound; bandwidth and peak put the turn at ≈ {turn:F0} rows)", b.StepMs, one.StepMs, "ms", LowerIsBetter: true));
                }
            }
        }
        return rows;
    }

    /// <summary>One generation: prefill tok/s (time to the first token) and decode tok/s (the next tokens).</summary>
    internal static (double Prefill, double Decode) Once(ICausalLanguageModel model, int[] prompt, int newTokens)
    {
        var o = new GenerationOptions(MaxNewTokens: newTokens + 1);
        var sw = Stopwatch.StartNew();
        double first = 0;
        int n = 0;
        foreach (int _ in Generator.Generate(model, prompt, o))
            if (n++ == 0) first = sw.Elapsed.TotalSeconds;
        double total = sw.Elapsed.TotalSeconds;
        return (prompt.Length / first, newTokens / (total - first));
    }

    /// <summary>The upper middle value: what the decode benches report (with an odd count, the median).</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v[v.Length / 2];
    }
}
