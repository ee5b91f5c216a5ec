namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Examples as next-token training rows: P zero pad tokens (the model's prefix padding), then the first 19
/// tokens of each example; a row is scored only where the next token is an output token: positions
/// P+9 … P+18 predict tokens 10–19, so <see cref="Targets"/> holds those 10 a row.
/// </summary>
public sealed record PetrovBatch(int Rows, int Padding, int[] Inputs, int[] Targets)
{
    /// <summary>Scored predictions a row: positions FirstOutput … SequenceLength − 1.</summary>
    public const int Outputs = PetrovExample.OutputLength;

    /// <summary>Tokens a row feeds the model: pads + input + output − 1 (the last output token is only predicted).</summary>
    public int SequenceLength => Padding + PetrovExample.TotalLength - 1;

    /// <summary>The first position whose prediction is scored (it predicts the first output token).</summary>
    public int FirstOutput => Padding + PetrovExample.InputLength - 1;

    // examples: N, padding P -> Inputs: N·(P + 19) ids (P zeros first), Targets: N·10 (the tokens positions P+9 … P+18 predict)
    public static PetrovBatch From(IReadOnlyList<PetrovExample> examples, int padding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        int n = examples.Count, t = padding + PetrovExample.TotalLength - 1;
        var inputs = new int[n * t];
        var targets = new int[n * Outputs];
        for (int r = 0; r < n; r++)
        {
            var tokens = examples[r].Tokens;
            tokens.AsSpan(0, t - padding).CopyTo(inputs.AsSpan(r * t + padding));
            tokens.AsSpan(PetrovExample.InputLength, Outputs).CopyTo(targets.AsSpan(r * Outputs));
        }
        return new PetrovBatch(n, padding, inputs, targets);
    }
}
