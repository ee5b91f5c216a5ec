using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Greedy decoding of the 10 output tokens from the 10 input digits, in eval mode without gradients:
/// step j feeds the model's P zero pads + input + the j tokens decoded so far and takes the argmax at the last position
/// (no cache: sequences are at most 19 tokens). The model's training mode is restored afterwards.
/// </summary>
public static class GreedyDecoder
{
    const int Chunk = 512;

    // inputs: N·10 digits -> N·10 decoded tokens
    public static int[] Decode(MinGpt model, ReadOnlySpan<int> inputs)
    {
        const int inLen = PetrovExample.InputLength, outLen = PetrovExample.OutputLength;
        if (inputs.Length % inLen != 0) throw new ArgumentException($"Decode: {inputs.Length} input tokens are not rows of {inLen}.");
        int n = inputs.Length / inLen, v = model.Config.VocabSize, pad = model.Config.PrefixPadding;
        var decoded = new int[n * outLen];
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var noGrad = Tape.NoGrad();
            for (int start = 0; start < n; start += Chunk)
            {
                int rows = Math.Min(Chunk, n - start);
                var seq = new int[rows * (pad + inLen + outLen - 1)];
                for (int j = 0; j < outLen; j++)
                {
                    int t = pad + inLen + j;   // tokens fed this step
                    for (int r = 0; r < rows; r++)
                    {
                        seq.AsSpan(r * t, pad).Clear();
                        inputs.Slice((start + r) * inLen, inLen).CopyTo(seq.AsSpan(r * t + pad));
                        decoded.AsSpan((start + r) * outLen, j).CopyTo(seq.AsSpan(r * t + pad + inLen));
                    }
                    using var scope = TensorScope.Begin();
                    var logits = model.Forward(seq.AsSpan(0, rows * t), rows, t).Span;   // [rows, t, V]
                    for (int r = 0; r < rows; r++)
                    {
                        var last = logits.Slice((r * t + t - 1) * v, v);
                        int best = 0;
                        for (int c = 1; c < v; c++) if (last[c] > last[best]) best = c;
                        decoded[(start + r) * outLen + j] = best;
                    }
                }
            }
        }
        finally { model.Train(wasTraining); }
        return decoded;
    }

    /// <summary>Fraction of <paramref name="examples"/> whose 10 greedy output tokens all equal the target.</summary>
    public static double ExactMatch(MinGpt model, IReadOnlyList<PetrovExample> examples)
    {
        if (examples.Count == 0) return 0;
        var inputs = new int[examples.Count * PetrovExample.InputLength];
        for (int i = 0; i < examples.Count; i++) examples[i].Input.CopyTo(inputs.AsSpan(i * PetrovExample.InputLength));
        var decoded = Decode(model, inputs);
        int correct = 0;
        for (int i = 0; i < examples.Count; i++)
            if (decoded.AsSpan(i * PetrovExample.OutputLength, PetrovExample.OutputLength).SequenceEqual(examples[i].Output)) correct++;
        return (double)correct / examples.Count;
    }
}
