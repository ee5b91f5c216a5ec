using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// Examples as next-token training rows: the model reads the first 19 tokens of each example and is
/// scored only where the next token is an output token (positions 9–18 predict tokens 10–19); every
/// other target is <see cref="F.IgnoreIndex"/>.
/// </summary>
public sealed record PetrovBatch(int Rows, int[] Inputs, int[] Targets)
{
    /// <summary>Tokens a row feeds the model: input + output − 1 (the last output token is only predicted).</summary>
    public const int SequenceLength = PetrovExample.TotalLength - 1;

    // examples: N -> Inputs: N·19 ids, Targets: N·19 (ignore index except at the 10 output predictions)
    public static PetrovBatch From(IReadOnlyList<PetrovExample> examples)
    {
        int n = examples.Count, t = SequenceLength;
        var inputs = new int[n * t];
        var targets = new int[n * t];
        for (int r = 0; r < n; r++)
        {
            var tokens = examples[r].Tokens;
            for (int i = 0; i < t; i++)
            {
                inputs[r * t + i] = tokens[i];
                targets[r * t + i] = i + 1 >= PetrovExample.InputLength ? tokens[i + 1] : F.IgnoreIndex;
            }
        }
        return new PetrovBatch(n, inputs, targets);
    }
}
