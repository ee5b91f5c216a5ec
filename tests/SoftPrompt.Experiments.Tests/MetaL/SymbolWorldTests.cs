using SoftPrompt.Experiments.MetaL;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Ops;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Experiments.Tests.MetaL;

/// <summary>MetaL-Prompt's testbed: rules, splits, the tokenizer, in-context batches and exact resume of the target's pretraining.</summary>
public sealed class SymbolWorldTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-symbol-world-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void EveryOrderIsAPermutationOfPositionsAndRulesApplyAsWritten()
    {
        foreach (var order in Enum.GetValues<SymbolOrder>())
            Assert.Equal(Enumerable.Range(0, 5), Enumerable.Range(0, 5).Select(i => SymbolRule.Source(order, i, 5)).Order());
        var rule = new SymbolRule([1, 2, 3, 4, 5, 6, 7, 0], SymbolOrder.Reverse);
        // reverse: the sources a e d c b, each followed by its image
        Assert.Equal([SymbolWorld.Pair(0, 1), SymbolWorld.Pair(4, 5), SymbolWorld.Pair(3, 4), SymbolWorld.Pair(2, 3), SymbolWorld.Pair(1, 2)], rule.Apply([1, 2, 3, 4, 0]));
        Assert.Equal("bcdefgha-reverse", rule.Name);
        Assert.Equal("bBaAdDcCeE", SymbolWorld.Text(new SymbolRule([.. Enumerable.Range(0, 8)], SymbolOrder.SwapPairs).Apply([0, 1, 2, 3, 4])));
        Assert.Equal("eFdEcDbCaB", SymbolWorld.Text(rule.Apply([0, 1, 2, 3, 4])));   // "abcde" → e·F d·E c·D b·C a·B
    }

    [Fact]
    public void SplitsKeepUnseenMapsAndTheHeldOutFamilyApart()
    {
        var rng = new Rng(1);
        int trainInFamily = 0;
        for (int i = 0; i < 800; i++)
        {
            var train = SymbolWorld.RandomRule(rng, WorldSplit.Train).Map;   // the target's pretraining: the family included
            Assert.False(SymbolWorld.IsTestMap(train));
            if (SymbolWorld.IsHeldOutFamily(train)) trainInFamily++;
            var meta = SymbolWorld.RandomRule(rng, WorldSplit.MetaTrain).Map;   // the PGM's: without it
            Assert.False(SymbolWorld.IsTestMap(meta) || SymbolWorld.IsHeldOutFamily(meta));
            var unseen = SymbolWorld.RandomRule(rng, WorldSplit.UnseenRules).Map;
            Assert.True(SymbolWorld.IsTestMap(unseen) && !SymbolWorld.IsHeldOutFamily(unseen));
            var held = SymbolWorld.RandomRule(rng, WorldSplit.HeldOutFamily).Map;   // unseen maps sending a to A
            Assert.True(SymbolWorld.IsTestMap(held) && SymbolWorld.IsHeldOutFamily(held) && held[0] == 0);
            foreach (var map in new[] { train, meta, unseen, held }) Assert.Equal(Enumerable.Range(0, 8), map.Order());   // permutations all
        }
        Assert.InRange(trainInFamily, 60, 150);   // an eighth of the training maps send a to A
        // about a tenth of the maps are test maps
        int test = 0;
        for (int i = 0; i < 4000; i++) { var m = Enumerable.Range(0, 8).ToArray(); rng.Shuffle<int>(m); if (SymbolWorld.IsTestMap(m)) test++; }
        Assert.InRange(test, 300, 500);
    }

    [Fact]
    public void TheWorldsTokenizerGivesTheIdsTheBatchesUse()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), SymbolWorld.TokenizerJson);
        var tokenizer = Tokenizer.FromDirectory(_dir);
        var ids = new List<int>();
        SymbolWorld.AppendDemonstration(ids, [0, 1, 2, 3, 7], [SymbolWorld.Pair(0, 4), SymbolWorld.Pair(1, 5), SymbolWorld.Pair(2, 6), SymbolWorld.Pair(3, 7), SymbolWorld.Pair(7, 0)]);
        Assert.Equal(ids, tokenizer.Encode("abcdh> aEbFcGdHhA|"));
        Assert.Equal("abcdh> aEbFcGdHhA|", tokenizer.Decode([.. ids]));
    }

    [Fact]
    public void BatchesScoreEveryOutputSymbolAfterTheFirstDemonstration()
    {
        var batch = IclBatch.Sample(new Rng(3), 4, 8);
        Assert.Equal(IclBatch.SequenceLength(8), batch.Seq);
        for (int r = 0; r < batch.Rows; r++)
        {
            var scored = Enumerable.Range(0, batch.Seq).Where(t => batch.Targets[r * batch.Seq + t] != Functional.IgnoreIndex).ToArray();
            Assert.Equal(8 * SymbolWorld.OutputLength, scored.Length);
            foreach (int t in scored) Assert.Equal(batch.Ids[r * batch.Seq + t + 1], batch.Targets[r * batch.Seq + t]);   // next-token targets
            Assert.All(scored, t => Assert.InRange(batch.Ids[r * batch.Seq + t + 1], SymbolWorld.PairBase, SymbolWorld.SeparatorId - 1));   // pairs only
        }
    }

    [Fact]
    public void EpisodesCanStartAfterLeadSymbolsAndOnlyTheirOutputsAreScored()
    {
        var batch = IclBatch.Sample(new Rng(5), 32, 2, WorldSplit.Train, maxLead: 8);
        Assert.Equal(IclBatch.SequenceLength(2) + 8, batch.Seq);
        var leads = new HashSet<int>();
        for (int r = 0; r < batch.Rows; r++)
        {
            var row = batch.Ids.AsSpan(r * batch.Seq, batch.Seq).ToArray();
            int lead = Array.IndexOf(row, SymbolWorld.SeparatorId) - SymbolWorld.Length;   // the first demonstration's '>'
            Assert.InRange(lead, 0, 8);
            leads.Add(lead);
            Assert.All(row[..lead], t => Assert.InRange(t, 0, SymbolWorld.Alphabet - 1));   // lead: plain symbols, never pairs
            var scored = Enumerable.Range(0, batch.Seq).Where(t => batch.Targets[r * batch.Seq + t] != Functional.IgnoreIndex).ToArray();
            Assert.Equal(2 * SymbolWorld.OutputLength, scored.Length);   // the second demonstration's and the query's outputs
            Assert.All(scored, t => Assert.InRange(row[t + 1], SymbolWorld.PairBase, SymbolWorld.SeparatorId - 1));
        }
        Assert.True(leads.Count > 3, "leads vary from row to row");
    }

    [Fact]
    public void PretrainingOnOneFixedRuleLearnsIt()
    {
        // A world of one rule needs no in-context reading: the pretrainer must drive its loss down and answer it.
        var rule = new SymbolRule([3, 0, 6, 1, 7, 2, 5, 4], SymbolOrder.Reverse);
        var run = new IclPretrainer(new MinGptConfig(2, 2, 64, SymbolWorld.VocabSize, MaxPositions: 64, Dropout: 0f, TiedHead: true),
            new IclPretrainOptions(Steps: 400, BatchSize: 16, Shots: 2, Lr: 3e-3, Warmup: 20, MaxLead: 0), _ => rule);   // episodes from position 0, as the check below reads one
        float first = run.TrainStep(), last = 0;
        for (int i = 1; i < 400; i++) last = run.TrainStep();
        Assert.True(first > 4 && last < 0.2, $"loss {first} → {last}");   // from about ln 76 (any token) to nearly nothing
        // the third demonstration's place, where training scored it: two demonstrations, then the query
        var ids = new List<int>();
        SymbolWorld.AppendDemonstration(ids, [0, 1, 2, 3, 4], rule.Apply([0, 1, 2, 3, 4]));
        SymbolWorld.AppendDemonstration(ids, [7, 6, 5, 4, 3], rule.Apply([7, 6, 5, 4, 3]));
        int[] x = [1, 2, 3, 4, 5];
        ids.AddRange(x);
        ids.AddRange([SymbolWorld.SeparatorId, SymbolWorld.SpaceId]);
        int start = ids.Count, v = SymbolWorld.VocabSize;
        using var _ = Tensors.Autograd.Tape.NoGrad();
        run.Model.Eval();
        for (int k = 0; k < SymbolWorld.OutputLength; k++)
        {
            var next = run.Model.Forward([.. ids], 1, ids.Count).ToArray().AsSpan((ids.Count - 1) * v, v).ToArray();
            ids.Add(Array.IndexOf(next, next.Max()));
        }
        Assert.Equal(rule.Apply(x), ids.Skip(start));
    }

    [Fact]
    public void PretrainingResumesBitForBitAndExportsAHuggingFaceCheckpoint()
    {
        var options = new IclPretrainOptions(Steps: 6, BatchSize: 4, Shots: 2, Warmup: 2);
        var config = new MinGptConfig(1, 2, 16, SymbolWorld.VocabSize, MaxPositions: 64, Dropout: 0.1f, TiedHead: true);
        var straight = new IclPretrainer(config, options);
        for (int i = 0; i < 6; i++) straight.TrainStep();
        var first = new IclPretrainer(config, options);
        for (int i = 0; i < 3; i++) first.TrainStep();
        first.Save(_dir);
        var resumed = IclPretrainer.Resume(_dir);
        for (int i = 0; i < 3; i++) resumed.TrainStep();
        foreach (var ((name, a), (_, b)) in straight.Model.NamedParameters().Zip(resumed.Model.NamedParameters()))
            Assert.True(a.ToArray().AsSpan().SequenceEqual(b.ToArray()), $"{name} differs after resuming");

        SymbolWorldTarget.Export(resumed, Path.Combine(_dir, "model"));
        var lm = Models.Architectures.ModelLoader.Load(Path.Combine(_dir, "model"));
        var tokenizer = Tokenizer.FromDirectory(Path.Combine(_dir, "model"));
        var ids = tokenizer.Encode("abcde> ");
        using var _ = Tensors.Autograd.Tape.NoGrad();
        var hf = lm.Forward(ids, 1, ids.Length).ToArray();
        resumed.Model.Eval();
        var own = resumed.Model.Forward(ids, 1, ids.Length).ToArray();
        Compare.Close(hf, own, 1e-5, "the exported checkpoint's logits vs the trained model's");
    }
}
