using SoftPrompt.Bench.Generate;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// <c>bench decode --pages</c>: what 2 MiB pages give decoding, measured in one process so both sides see the same
/// machine: the same checkpoint loaded twice, its weights once with <see cref="HugePages"/> off (4 KiB pages) and once on
/// (both generate with the cache on 2 MiB pages: that storage is pooled and shared), then
/// rounds that alternate the two (one generation each, tg128 after a 128-token prompt), f32 and bf16. A ratio per round
/// and their median: this host's bandwidth moves by half within minutes, so only rounds side by side compare.
/// Options: --runs N (rounds, 8).
/// </summary>
public static class PageSizeAB
{
    public static List<BenchRow> Run(BenchArgs args, string dir, int[] prompt, int newTokens)
    {
        int runs = args.GetInt("runs", 8);
        var rows = new List<BenchRow>();
        bool enabled = HugePages.Enabled;
        foreach (var (name, storage) in new[] { ("f32", WeightStorage.Float32), ("bf16", WeightStorage.BFloat16) })
        {
            HugePages.Enabled = false;
            var small = Gpt2Model.Load(dir, storage);
            HugePages.Enabled = enabled;
            long before = HugePages.BytesCollapsed;
            var huge = Gpt2Model.Load(dir, storage);
            long collapsed = HugePages.BytesCollapsed - before;
            DecodeBench.Once(small, prompt, 8); DecodeBench.Once(huge, prompt, 8);
            var ratios = new List<double>();
            var (smallTps, hugeTps) = (new List<double>(), new List<double>());
            for (int round = 0; round < runs; round++)
            {
                smallTps.Add(DecodeBench.Once(small, prompt, newTokens).Decode);
                hugeTps.Add(DecodeBench.Once(huge, prompt, newTokens).Decode);
                ratios.Add(hugeTps[^1] / smallTps[^1]);
            }
            Console.Error.WriteLine($"{name}: {collapsed / 1e6:F0} MB of 2 MiB pages; decode tok/s 4 KiB {string.Join(" ", smallTps.Select(t => t.ToString("F1")))}; " +
                $"2 MiB {string.Join(" ", hugeTps.Select(t => t.ToString("F1")))}; ratios {string.Join(" ", ratios.Select(r => r.ToString("F3")))}");
            rows.Add(new($"decode tok/s, batch 1, {name}: weights on 2 MiB pages vs 4 KiB (median of {runs} alternating rounds; " +
                $"ratios {ratios.Min():F2}–{ratios.Max():F2})", Median(hugeTps), Median(smallTps), "tok/s"));
            rows.Add(new($"decode {name}: median of the rounds' ratios, 2 MiB vs 4 KiB pages", Median(ratios), 1.0, "x"));
        }
        return rows;
    }

    static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v[v.Length / 2];
    }
}
