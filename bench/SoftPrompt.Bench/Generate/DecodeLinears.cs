using System.Diagnostics;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Weights;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Bench.Generate;

/// <summary>
/// The weight-reading part of one decoding step: every linear of the checkpoint (c_attn, c_proj,
/// c_fc, mlp.c_proj of each layer, Conv1D [in, out]) and the tied head ([V, D]) applied to m rows,
/// with the weights held as float32 or bf16 FrozenWeights. Memory-bound at small m, so this is
/// where bf16 storage shows in speed until the models hold FrozenWeights.
/// </summary>
public static class DecodeLinears
{
    /// <summary>Median milliseconds of one pass over every linear with x of <paramref name="rows"/> rows.</summary>
    public static double Milliseconds(string dir, WeightStorage storage, int rows, int passes = 7)
    {
        var (matrices, _) = RandomGpt2Checkpoint.LoadAll(dir, storage);
        var linears = matrices.Where(m => m.Name != "wpe.weight")
            .Select(m => (W: m, InOut: m.Name != "wte.weight")).ToList();
        var rng = new Rng(7);
        var inputs = linears.Select(l =>
        {
            var x = Tensor.ZerosOnHeap(rows, l.InOut ? l.W.Rows : l.W.Cols);
            rng.FillNormal(x.Span, 0, 1);
            return x;
        }).ToList();
        var times = new List<double>();
        for (int p = 0; p < passes + 2; p++)
        {
            var sw = Stopwatch.StartNew();
            using (Tape.NoGrad())
            using (TensorScope.Begin())
                for (int i = 0; i < linears.Count; i++) F.Linear(inputs[i], linears[i].W, null, linears[i].InOut);
            if (p >= 2) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        GC.KeepAlive(matrices);
        return times[times.Count / 2];
    }
}
