using System.Diagnostics;
using SoftPrompt.Bench.Generate;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Bench.Decode;

/// <summary>
/// Where one batch-1 decoding step of GPT-2 small goes, each part timed alone with the shapes the step
/// runs (median of passes, ms a token): every matrix-vector product (each linear of the checkpoint and the
/// tied head, DecodeLinears), attention of one query over the cache (12 layers, <c>keys</c> cached keys),
/// the 25 layer norms, greedy sampling over the vocabulary. The step's time less these is the rest:
/// embedding, residual adds, GELU, the model's plan and option plumbing, tensor allocation, dispatch and
/// thread wake-ups between ops.
/// </summary>
public static class DecodeSplit
{
    public sealed record Parts(double MatVec, double Attention, double Norms, double Sampling)
    {
        public double Sum => MatVec + Attention + Norms + Sampling;
    }

    const int D = RandomGpt2Checkpoint.D, Layers = RandomGpt2Checkpoint.Layers, Heads = RandomGpt2Checkpoint.Heads;

    public static Parts Measure(string dir, WeightStorage storage, int keys)
    {
        double matvec = DecodeLinears.Milliseconds(dir, storage, 1);
        var rng = new Rng(3);
        Tensor Random(params int[] shape) { var t = Tensor.ZerosOnHeap(shape); rng.FillNormal(t.Span, 0, 1); return t; }
        var q = Random(1, 1, D);
        var k = Enumerable.Range(0, Layers).Select(_ => Random(1, keys + 64, D)).ToArray();   // a grown cache: capacity past the valid keys
        var v = Enumerable.Range(0, Layers).Select(_ => Random(1, keys + 64, D)).ToArray();
        double attention = Median(() => { for (int l = 0; l < Layers; l++) F.Attention(q, k[l], v[l], Heads, Heads, keyLength: keys); });
        var x = Random(1, 1, D);
        var w = Random(D);
        var b = Random(D);
        double norms = Median(() => { for (int i = 0; i < 2 * Layers + 1; i++) F.LayerNorm(x, w, b); });
        var logits = Random(RandomGpt2Checkpoint.Vocab);
        var seen = new List<int>(Enumerable.Range(0, keys));
        var greedy = new GenerationOptions();
        var sampleRng = new Rng(5);
        double sampling = Median(() => Sampling.Choose(logits.Span, seen, greedy, sampleRng));
        return new Parts(matvec, attention, norms, sampling);
    }

    static double Median(Action pass, int passes = 31)
    {
        var times = new List<double>();
        for (int p = 0; p < passes + 3; p++)
        {
            var sw = Stopwatch.StartNew();
            using (Tape.NoGrad())
            using (TensorScope.Begin())
                pass();
            if (p >= 3) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
