using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// In-context episodes as next-token training rows: Shots + 1 demonstrations of one rule, "x> y|" each (the last without
/// its '|'); a row is scored at the positions that predict an output symbol of every demonstration after the first (the
/// first has nothing to learn the rule from), so one row teaches 1-shot to Shots-shot answers at once.
/// </summary>
public sealed record IclBatch(int Rows, int Seq, int[] Ids, int[] Targets)
{
    public static int SequenceLength(int shots) => (shots + 1) * (SymbolWorld.Length + SymbolWorld.OutputLength + 3) - 1;

    // -> ids [rows, seq], targets [rows·seq] (IgnoreIndex where nothing is scored)
    public static IclBatch Sample(Rng rng, int rows, int shots, WorldSplit split = WorldSplit.Train, int maxLead = 0) => Sample(rng, rows, shots, r => SymbolWorld.RandomRule(r, split), maxLead);

    /// <summary>
    /// Rows whose rules come from rules (a test's single fixed rule, say). With maxLead &gt; 0 each row's episode starts
    /// after 0…maxLead random symbols (and the rest of the row's maxLead trails it, unscored), so that the target reads
    /// demonstrations wherever they start: a prompt is put before them, and a target that had only seen them from
    /// position 0 answered nothing right after 8 positions of prompt, even with 4 demonstrations as text after it.
    /// </summary>
    public static IclBatch Sample(Rng rng, int rows, int shots, Func<Rng, SymbolRule> rules, int maxLead = 0)
    {
        int seq = SequenceLength(shots) + maxLead;
        var ids = new int[rows * seq];
        var targets = new int[rows * seq];
        Array.Fill(targets, Functional.IgnoreIndex);
        var row = new List<int>(seq + 1);
        for (int r = 0; r < rows; r++)
        {
            var rule = rules(rng);
            row.Clear();
            int lead = maxLead > 0 ? rng.NextInt(maxLead + 1) : 0;
            for (int i = 0; i < lead; i++) row.Add(rng.NextInt(SymbolWorld.Alphabet));
            for (int d = 0; d <= shots; d++)
            {
                var x = SymbolWorld.RandomInput(rng);
                int outputStart = row.Count + SymbolWorld.Length + 2;
                SymbolWorld.AppendDemonstration(row, x, rule.Apply(x), delimiter: d < shots);
                if (d == 0) continue;
                for (int j = 0; j < SymbolWorld.OutputLength; j++) targets[r * seq + outputStart + j - 1] = row[outputStart + j];   // position t predicts token t + 1
            }
            while (row.Count < seq) row.Add(rng.NextInt(SymbolWorld.Alphabet));
            row.CopyTo(ids, r * seq);
        }
        return new IclBatch(rows, seq, ids, targets);
    }
}
