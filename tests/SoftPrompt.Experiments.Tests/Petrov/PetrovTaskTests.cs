using SoftPrompt.Tensors;
using SoftPrompt.Experiments.Petrov;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.Tests.Petrov;

public class PetrovTaskTests
{
    static readonly int[] Input = [3, 0, 7, 3, 5, 0, 3, 1, 6, 2];

    static int[] Apply(PetrovTask task, int[] input)
    {
        var output = new int[input.Length];
        PetrovTasks.Apply(task, input, output);
        return output;
    }

    [Fact]
    public void EachTaskMapsAKnownSequence()
    {
        Assert.Equal([0, 0, 1, 2, 3, 3, 3, 5, 6, 7], Apply(PetrovTask.SortAscending, Input));
        Assert.Equal([7, 6, 5, 3, 3, 3, 2, 1, 0, 0], Apply(PetrovTask.SortDescending, Input));
        Assert.Equal([4, 1, 8, 4, 6, 1, 4, 2, 7, 3], Apply(PetrovTask.AddOne, Input));
        Assert.Equal([5, 2, 9, 5, 7, 2, 5, 3, 8, 4], Apply(PetrovTask.AddTwo, Input));
        Assert.Equal([1, 1, 2, 3, 4, 4, 4, 6, 7, 8], Apply(PetrovTask.SortAscendingAddOne, Input));
        Assert.Equal([3, 2, 1, 3, 1, 2, 3, 1, 1, 1], Apply(PetrovTask.Histogram, Input));
    }

    [Fact]
    public void EveryOutputFitsTheVocabularyAndHistogramCountsSumToTheSquares()
    {
        var rng = new Rng(5);
        var digits = new int[DigitSequences.Length];
        for (int n = 0; n < 5000; n++)
        {
            DigitSequences.Sample(rng, digits);
            foreach (var task in Enum.GetValues<PetrovTask>())
            {
                var output = Apply(task, digits);
                Assert.All(output, t => Assert.InRange(t, 0, DigitSequences.VocabSize - 1));
            }
            // Σ_i count(x_i) = Σ_values count² — a check independent of how Apply counts.
            var counts = new int[DigitSequences.MaxDigit + 1];
            foreach (int d in digits) counts[d]++;
            Assert.Equal(counts.Sum(c => c * c), Apply(PetrovTask.Histogram, digits).Sum());
            Assert.Equal(digits.Max() + 2, Apply(PetrovTask.AddTwo, digits).Max());
        }
    }

    [Fact]
    public void NamesRoundTripAndUnknownNamesAreRefused()
    {
        foreach (var task in Enum.GetValues<PetrovTask>()) Assert.Equal(task, PetrovTasks.Parse(PetrovTasks.Name(task)));
        Assert.Contains("histogram", Assert.Throws<ArgumentException>(() => PetrovTasks.Parse("sort")).Message);
    }

    [Fact]
    public void SamplesAreDigitsZeroToSevenAndHalfHaveAtMostFiveDistinctValues()
    {
        var rng = new Rng(11);
        var digits = new int[DigitSequences.Length];
        int restricted = 0, n = 20000, unrestrictedOverFive = 0;
        for (int i = 0; i < n; i++)
        {
            bool r = DigitSequences.Sample(rng, digits);
            Assert.All(digits, d => Assert.InRange(d, 0, DigitSequences.MaxDigit));
            int distinct = DigitSequences.Distinct(digits);
            Assert.True(distinct >= 2, "ten equal digits are redrawn");
            if (r) { restricted++; Assert.True(distinct <= 5, $"restricted sample with {distinct} distinct values"); }
            else if (distinct > 5) unrestrictedOverFive++;
        }
        Assert.InRange(restricted / (double)n, 0.48, 0.52);
        // Uniform draws of 10 digits from 8 have more than 5 distinct values about 68% of the time.
        Assert.InRange(unrestrictedOverFive / (double)(n - restricted), 0.6, 0.8);
    }

    [Fact]
    public void SplitIsFnv1aAndHoldsAboutAQuarterOfSequences()
    {
        Assert.Equal(0xE40C292Cu, TestSplit.Hash([0x61]));   // FNV-1a 32 of "a"
        Assert.Equal(2166136261u, TestSplit.Hash([]));
        var rng = new Rng(3);
        var digits = new int[DigitSequences.Length];
        int test = 0, n = 40000;
        for (int i = 0; i < n; i++)
        {
            DigitSequences.Sample(rng, digits);
            if (TestSplit.IsTest(digits)) test++;
        }
        Assert.InRange(test / (double)n, 0.24, 0.26);
    }

    [Fact]
    public void TrainingStreamNeverShowsATestSequenceAndTestSetsAreDeterministic()
    {
        var sampler = new PetrovSampler(PetrovTasks.Pretrained, 9);
        var seenTasks = new HashSet<PetrovTask>();
        for (int i = 0; i < 4000; i++)
        {
            var e = sampler.NextExample();
            Assert.False(TestSplit.IsTest(e.Input));
            seenTasks.Add(e.Task);
            Assert.Equal(Apply(e.Task, e.Input.ToArray()), e.Output.ToArray());
        }
        Assert.Equal(PetrovTasks.Pretrained.ToHashSet(), seenTasks);

        var a = PetrovSampler.TestSet(PetrovTask.Histogram, 300);
        var b = PetrovSampler.TestSet(PetrovTask.Histogram, 300);
        Assert.All(a, e => Assert.True(TestSplit.IsTest(e.Input)));
        Assert.Equal(a.Select(e => string.Join(",", e.Tokens)), b.Select(e => string.Join(",", e.Tokens)));
        Assert.NotEqual(a.Select(e => string.Join(",", e.Tokens)), PetrovSampler.TestSet(PetrovTask.Histogram, 300, seed: 2).Select(e => string.Join(",", e.Tokens)));
    }

    [Fact]
    public void BatchScoresOnlyTheTenOutputPredictions()
    {
        var e = PetrovExample.Create(PetrovTask.SortDescending, Input);
        var batch = PetrovBatch.From([e, e]);
        Assert.Equal(2 * 19, batch.Inputs.Length);
        Assert.Equal(e.Tokens[..19], batch.Inputs[19..]);
        Assert.Equal(2 * 10, batch.Targets.Length);          // positions 9–18 predict the 10 output tokens
        Assert.Equal(e.Output.ToArray(), batch.Targets[10..]);
        Assert.Equal(e.Tokens[10..20], batch.Targets[..10]);

        // With the authors' prefix padding P, each row starts with P zero tokens and the targets do not move.
        var padded = PetrovBatch.From([e, e], padding: 3);
        Assert.Equal(2 * 22, padded.Inputs.Length);
        Assert.Equal([0, 0, 0, .. e.Tokens[..19]], padded.Inputs[22..]);
        Assert.Equal(3 + 9, padded.FirstOutput);
        Assert.Equal(batch.Targets, padded.Targets);
    }

    /// <summary>A phase's whole name selects it alone; other words select every phase containing them.</summary>
    [Theory]
    [InlineData("prefix on ascending", "prefix on ascending")]
    [InlineData("Prefix On Ascending, prefix on add1", "prefix on ascending; prefix on add1")]
    [InlineData("ascending", "prefix on ascending; prefix on ascending then +1")]
    [InlineData("add", "prefix on add1; prefix on add2")]
    [InlineData("histogram,descending", "prefix on descending; prefix on histogram")]
    public void PhasesAreSelectedByWholeNameOrByWord(string words, string selected)
    {
        Assert.Equal(selected, string.Join("; ", PetrovSetup.For(3).SelectPhases(words).Phases.Select(p => p.Name)));
    }

    [Fact]
    public void ASelectionOfNoPhaseNamesTheOptionAndThePhases()
    {
        var e = Assert.Throws<ArgumentException>(() => PetrovSetup.For(4).SelectPhases("nothing", "--phases"));
        Assert.StartsWith("--phases 'nothing': no phase of setup 4 matches (prefix on histogram; rank-1 LoRA on histogram)", e.Message);
    }
}
