using System.Diagnostics;
using SoftPrompt.Bench.Generate;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// <c>bench decode --shapes</c>: GB/s of one row times each weight shape of a GPT-2-small decoding step
/// (held [out, in] as the model holds them: the dot form; one [in, out] shape for the axpy form), float32 and bf16, next to
/// the read bandwidth: which form of the matrix-vector product falls short of it. Several copies of each
/// shape, together far larger than the caches, so every pass reads from memory.
/// </summary>
public static class GemvShapes
{
    /// <summary>MiB of float32 weights per shape (SOFTPROMPT_SHAPES_MIB; 256 by default, a few MiB keeps them in the last-level cache: the kernels' own ceiling).</summary>
    static readonly int Mib = int.TryParse(Environment.GetEnvironmentVariable("SOFTPROMPT_SHAPES_MIB"), out int m) ? m : 256;

    public static List<BenchRow> Run(double bandwidth)
    {
        const int D = RandomGpt2Checkpoint.D;
        var rows = new List<BenchRow>();
        var rng = new Rng(11);
        foreach (var dtype in new[] { WeightDtype.F32, WeightDtype.BF16 })
            foreach (var (name, r, c, inOut) in new[] { ("[768, 768]", D, D, false), ("q|k|v [2304, 768]", 3 * D, D, false),
                         ("c_fc [3072, 768]", 4 * D, D, false), ("c_proj [768, 3072]", D, 4 * D, false), ("[768, 3072] in-out", D, 4 * D, true),
                         ("head [50257, 768]", RandomGpt2Checkpoint.Vocab, D, false) })
            {
                int copies = (int)Math.Max(1, Mib * 1024L * 1024 / (4L * r * c));
                var ws = Enumerable.Range(0, copies).Select(_ =>
                {
                    var t = Tensor.ZerosOnHeap(r, c);
                    rng.FillNormal(t.Span, 0, 0.02f);
                    return FrozenWeight.FromTensor(t, dtype);
                }).ToArray();
                var x = Tensor.ZerosOnHeap(1, inOut ? r : c);
                rng.FillNormal(x.Span, 0, 1);
                var times = new List<double>();
                int passes = Math.Max(9, (int)(2048 / Math.Max(1, ws.Sum(w => w.SizeInBytes) >> 20)));
                for (int p = 0; p < passes; p++)
                {
                    var sw = Stopwatch.StartNew();
                    using (Tape.NoGrad())
                    using (TensorScope.Begin())
                        foreach (var w in ws) F.Linear(x, w, null, inOut);
                    if (p >= 2) times.Add(sw.Elapsed.TotalSeconds);
                }
                times.Sort();
                double gbs = ws.Sum(w => w.SizeInBytes) / times[times.Count / 2] / 1e9;
                Console.Error.WriteLine($"{dtype} {name}: {gbs:F1} GB/s ({gbs / bandwidth:P0})");
                rows.Add(new($"matrix-vector {dtype} {name}: GB/s of weights vs read bandwidth", gbs, bandwidth, "GB/s"));
            }
        return rows;
    }
}
