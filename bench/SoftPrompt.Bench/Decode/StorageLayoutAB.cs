using System.Diagnostics;
using SoftPrompt.Bench.Generate;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// <c>bench decode --pages</c> / <c>--align</c>: what a way of holding the weights gives decoding, measured in one process
/// so both sides see the same machine. The checkpoint is loaded twice, once with the switch off and once on — 2 MiB pages
/// (<see cref="HugePages"/>; both generate with the cache on 2 MiB pages, as that storage is pooled and shared), or
/// weights starting on a 64-byte line (<see cref="Tensor.AlignLargeHeapTensors"/>; the switch is on while both decode, so
/// the pooled activations and cache start on lines in both) — then rounds alternate the two (which
/// goes first alternates too): a batch-1 generation (tg128 after a 128-token prompt) and 16 steps of a 4-row
/// <see cref="DecodeBatch"/>, f32 and bf16. A ratio a round and their median: this host's speed moves by half within
/// minutes, so only rounds side by side compare. Options: --runs N (rounds, 8).
/// </summary>
public static class StorageLayoutAB
{
    public static List<BenchRow> Run(BenchArgs args, string dir, int[] prompt, int newTokens)
    {
        bool pages = args.Has("pages");
        string what = pages ? "weights on 2 MiB pages vs 4 KiB" : "weights on 64-byte lines vs where the array puts them";
        Action<bool> set = pages ? on => HugePages.Enabled = on : on => Tensor.AlignLargeHeapTensors = on;
        bool initially = pages ? HugePages.Enabled : Tensor.AlignLargeHeapTensors;
        int runs = args.GetInt("runs", 8);
        var rows = new List<BenchRow>();
        foreach (var (name, storage) in new[] { ("f32", WeightStorage.Float32), ("bf16", WeightStorage.BFloat16) })
        {
            set(false);
            var off = Gpt2Model.Load(dir, storage);
            set(initially);
            long collapsed = HugePages.BytesCollapsed;
            var on = Gpt2Model.Load(dir, storage);
            collapsed = HugePages.BytesCollapsed - collapsed;
            DecodeBench.Once(off, prompt, 8); DecodeBench.Once(on, prompt, 8);
            BatchStep(off); BatchStep(on);
            var (single, batched) = (new List<double>(), new List<double>());
            for (int round = 0; round < runs; round++)
            {
                bool onFirst = round % 2 == 1;
                var first = DecodeBench.Once(onFirst ? on : off, prompt, newTokens).Decode;
                var second = DecodeBench.Once(onFirst ? off : on, prompt, newTokens).Decode;
                single.Add(onFirst ? first / second : second / first);
                double a = BatchStep(onFirst ? on : off), b = BatchStep(onFirst ? off : on);
                batched.Add(onFirst ? b / a : a / b);   // step time off / on: the speed ratio
            }
            Console.Error.WriteLine($"{name}, {what}{(pages ? $" ({collapsed / 1e6:F0} MB of huge pages)" : "")}: batch 1 {string.Join(" ", single.Select(r => r.ToString("F3")))}; " +
                $"4 rows {string.Join(" ", batched.Select(r => r.ToString("F3")))}");
            rows.Add(new($"decode {name}, batch 1: {what}, speed ratio (median of {runs} rounds, range {single.Min():F2}–{single.Max():F2})", DecodeBench.Median(single), 1.0, "x"));
            rows.Add(new($"decode {name}, a 4-row batch step: the same (range {batched.Min():F2}–{batched.Max():F2})", DecodeBench.Median(batched), 1.0, "x"));
        }
        set(initially);
        return rows;
    }

    /// <summary>Milliseconds a step of a 4-row batch (prompts of 64–88 tokens, no plans) takes, over 16 steps.</summary>
    static double BatchStep(ICausalLanguageModel model)
    {
        var rng = new Rng(7);
        var requests = Enumerable.Range(0, 4).Select(i => ((IReadOnlyList<int>)Enumerable.Range(0, 64 + 8 * i).Select(_ => rng.NextInt(RandomGpt2Checkpoint.Vocab)).ToArray(),
            new GenerationOptions(MaxNewTokens: 40), (RowPlan?)null)).ToList();
        var batch = new DecodeBatch(model);
        batch.Start(requests);
        batch.Step();
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < 16; s++) batch.Step();
        return sw.Elapsed.TotalMilliseconds / 16;
    }
}
