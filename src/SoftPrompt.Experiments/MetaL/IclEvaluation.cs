using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// Whether the target LM learns in context: exact match of all output symbols of a query after `shots` demonstrations of
/// its rule (0: zero-shot, chance is 8^-5), greedy, on fresh rules of a split.
/// </summary>
public static class IclEvaluation
{
    /// <summary>Percent of items answered exactly: items episodes of distinct random rules of the split, drawn from seed.</summary>
    public static double ExactMatch(MinGpt model, WorldSplit split, int shots, int items = 320, ulong seed = 0xE7A1, int batch = 64)
    {
        var rng = new Rng(seed);
        int correct = 0;
        using var noGrad = Tape.NoGrad();
        model.Eval();
        try
        {
            for (int start = 0; start < items; start += batch)
            {
                int rows = Math.Min(batch, items - start);
                var contexts = new List<int>[rows];
                var answers = new int[rows][];
                for (int r = 0; r < rows; r++)
                {
                    var rule = SymbolWorld.RandomRule(rng, split);
                    var ids = new List<int>();
                    for (int d = 0; d < shots; d++) { var x = SymbolWorld.RandomInput(rng); SymbolWorld.AppendDemonstration(ids, x, rule.Apply(x)); }
                    var q = SymbolWorld.RandomInput(rng);
                    ids.AddRange(q);
                    ids.Add(SymbolWorld.SeparatorId);
                    ids.Add(SymbolWorld.SpaceId);
                    (contexts[r], answers[r]) = (ids, rule.Apply(q));
                }
                var got = Greedy(model, contexts, SymbolWorld.OutputLength);
                for (int r = 0; r < rows; r++) if (got[r].AsSpan().SequenceEqual(answers[r])) correct++;
            }
        }
        finally { model.Train(); }
        return 100.0 * correct / items;
    }

    /// <summary>Equal-length contexts → n greedy tokens each (one full pass a token: the rows are short).</summary>
    static int[][] Greedy(MinGpt model, List<int>[] contexts, int n)
    {
        int rows = contexts.Length, v = model.Config.VocabSize;
        var outputs = new int[rows][];
        for (int r = 0; r < rows; r++) outputs[r] = new int[n];
        for (int k = 0; k < n; k++)
        {
            int seq = contexts[0].Count;
            var ids = contexts.SelectMany(c => c).ToArray();
            using var scope = TensorScope.Begin();
            var logits = model.Head(model.ForwardHidden(ids, rows, seq, seq - 1));   // [B, 1, V]: the last position only
            var s = logits.Span;
            for (int r = 0; r < rows; r++)
            {
                int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(s.Slice(r * v, v));
                outputs[r][k] = next;
                contexts[r].Add(next);
            }
        }
        return outputs;
    }
}
