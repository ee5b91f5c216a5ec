using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

/// <summary>Continuous batching (<see cref="DecodeBatch"/>) and a task's shared prompt start (<see cref="SharedPromptStart"/>) against each sequence generated alone.</summary>
public class DecodeBatchTests
{
    static ICausalLanguageModel Model(string name) => PromptPlanTests.Load(name);

    static RowPlan Plan(ICausalLanguageModel model, ulong seed, int prefix, int soft, bool delta = true) =>
        PlanGenerationTests.FullPlan(model, seed, prefix, soft, delta);

    static List<int> Alone(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options, RowPlan? plan) =>
        Generator.Generate(model, prompt, options, plan is null ? null : new PromptPlan([plan])).ToList();

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void SequencesThatJoinAtDifferentStepsGiveWhatEachGivesAlone(string name)
    {
        var model = Model(name);
        (int[] Prompt, RowPlan? Plan, GenerationOptions Options, int JoinAt)[] requests =
        [
            ([0, 0, 3, 14, 15, 9, 2, 6], Plan(model, 1, prefix: 3, soft: 2), new(MaxNewTokens: 9), 0),
            ([5, 1, 8], null, new(MaxNewTokens: 6), 0),
            ([4, 4, 12, 7, 7, 1, 9, 9, 3, 2, 11], Plan(model, 2, prefix: 0, soft: 0), new(MaxNewTokens: 8, Temperature: 0.9f, TopP: 0.9f, Seed: 42), 2),
            ([0, 13, 2], Plan(model, 3, prefix: 5, soft: 1, delta: false), new(MaxNewTokens: 5, Temperature: 1.2f, Seed: 7), 3),
            ([6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6], Plan(model, 4, prefix: 1, soft: 0), new(MaxNewTokens: 4), 5),
        ];
        var batch = new DecodeBatch(model);
        var sequences = new DecodeSequence?[requests.Length];
        int widest = 0;
        for (int step = 0; step < 20; step++)
        {
            for (int r = 0; r < requests.Length; r++)
                if (requests[r].JoinAt == step) sequences[r] = batch.Start(requests[r].Prompt, requests[r].Options, requests[r].Plan);
            widest = Math.Max(widest, batch.Count);
            batch.Step();
        }
        Assert.True(widest >= 3, $"the test should decode several rows together; at most {widest} did");
        Assert.Equal(0, batch.Count);
        for (int r = 0; r < requests.Length; r++)
        {
            Assert.True(sequences[r]!.IsDone);
            Assert.Equal(Alone(model, requests[r].Prompt, requests[r].Options, requests[r].Plan), sequences[r]!.Generated);
        }
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void PromptsStartedTogetherInOnePassGiveWhatEachGivesAlone(string name)
    {
        var model = Model(name);
        (IReadOnlyList<int> Prompt, GenerationOptions Options, RowPlan? Plan)[] prompts =
        [
            ([0, 0, 3, 14, 15, 9, 2, 6], new(MaxNewTokens: 6), Plan(model, 11, prefix: 3, soft: 2)),
            ([5, 1], new(MaxNewTokens: 7, Temperature: 0.8f, Seed: 3), null),
            ([0, 4, 4, 12, 7, 7, 1, 9, 9, 3, 2, 11], new(MaxNewTokens: 5), Plan(model, 12, prefix: 0, soft: 1)),
            ([8, 8, 1], new(MaxNewTokens: 0), null),
            ([2, 7, 1, 8], new(MaxNewTokens: 4), Plan(model, 13, prefix: 4, soft: 0, delta: false)),
        ];
        var batch = new DecodeBatch(model);
        var early = batch.Start([3, 3, 3], new GenerationOptions(MaxNewTokens: 9));
        batch.Step();
        var sequences = batch.Start(prompts);
        Assert.True(sequences[3].IsDone);
        Assert.Empty(sequences[3].Generated);
        while (batch.Count > 0) batch.Step();
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(Alone(model, prompts[i].Prompt, prompts[i].Options, prompts[i].Plan), sequences[i].Generated);
        Assert.Equal(Alone(model, [3, 3, 3], new GenerationOptions(MaxNewTokens: 9), null), early.Generated);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void PromptsPastTheFirstPassBudgetRunInSeveralPassesAndGiveWhatEachGivesAlone(string name)
    {
        var model = Model(name);
        (IReadOnlyList<int> Prompt, GenerationOptions Options, RowPlan? Plan)[] prompts =
        [
            ([0, 0, 3, 14, 15, 9, 2, 6], new(MaxNewTokens: 5), Plan(model, 21, prefix: 3, soft: 2)),
            ([5, 1], new(MaxNewTokens: 4), null),
            ([0, 4, 4, 12, 7, 7, 1, 9, 9, 3, 2, 11], new(MaxNewTokens: 5), Plan(model, 22, prefix: 0, soft: 1)),
            ([2, 7, 1, 8], new(MaxNewTokens: 4, Temperature: 0.8f, Seed: 5), Plan(model, 23, prefix: 4, soft: 0, delta: false)),
            ([9, 9, 9], new(MaxNewTokens: 3), null),
        ];
        var batch = new DecodeBatch(model) { MaxPrefillPositions = 12 };   // passes of [5,1]+[9,9,9]+[2,7,1,8] (3 × 4), then one prompt each
        var sequences = batch.Start(prompts);
        Assert.Equal(5, batch.Count);
        while (batch.Count > 0) batch.Step();
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(Alone(model, prompts[i].Prompt, prompts[i].Options, prompts[i].Plan), sequences[i].Generated);
    }

    [Fact]
    public void ARemovedSequenceLeavesAndTheOthersGoOnAsAlone()
    {
        var model = Model("gpt2-tiny");
        var options = new GenerationOptions(MaxNewTokens: 10);
        var batch = new DecodeBatch(model);
        var a = batch.Start([3, 14, 15, 9], options, Plan(model, 5, prefix: 2, soft: 0));
        var b = batch.Start([2, 7, 1, 8, 2, 8], options);
        var c = batch.Start([1, 4, 1], options, Plan(model, 6, prefix: 0, soft: 0));
        batch.Step(); batch.Step();
        batch.Remove(b);
        Assert.True(b.IsDone);
        Assert.Equal(3, b.Generated.Count);
        while (batch.Count > 0) batch.Step();
        Assert.Equal(Alone(model, [3, 14, 15, 9], options, Plan(model, 5, prefix: 2, soft: 0)), a.Generated);
        Assert.Equal(Alone(model, [1, 4, 1], options, Plan(model, 6, prefix: 0, soft: 0)), c.Generated);
        Assert.Equal(Alone(model, [2, 7, 1, 8, 2, 8], options, null)[..3], b.Generated);
    }

    [Theory]
    [InlineData("gpt2-tiny", 1UL)]
    [InlineData("gpt2-tiny", 2UL)]
    [InlineData("llama-tiny-gqa", 3UL)]
    public void AStreamOfJoiningAndLeavingSequencesGivesWhatEachGivesAlone(string name, ulong seed)
    {
        // 80 steps of a batch that never empties: sequences join every few steps with prompts of 1-12 tokens, prefixes
        // of 0-5 positions, virtual tokens, LoRA deltas and sampling; some are removed mid-way. The cache's slots grow
        // past their first 4 rows, rows longer than the batch's text move the others right, leaving rows' slots are
        // refilled from the last row, and the columns nobody uses any more are dropped as the batch runs on.
        var model = Model(name);
        var rng = new Rng(seed);
        var batch = new DecodeBatch(model);
        var started = new List<(int[] Prompt, RowPlan? Plan, GenerationOptions Options, DecodeSequence Sequence, bool Removed)>();
        int widest = 0;
        for (int step = 0; step < 80; step++)
        {
            int joining = step % 2 == 0 ? 1 + rng.NextInt(3) : 0;
            for (int j = 0; j < joining; j++)
            {
                int length = 1 + rng.NextInt(12), soft = Math.Min(length, rng.NextInt(3)), prefix = rng.NextInt(4) == 0 ? 0 : 1 + rng.NextInt(5);
                var prompt = Enumerable.Range(0, length).Select(_ => rng.NextInt(model.Config.VocabSize)).ToArray();
                RowPlan? plan = rng.NextInt(4) == 0 ? null : Plan(model, seed * 1000 + (ulong)started.Count, prefix, soft, delta: rng.NextInt(2) == 0);
                var options = rng.NextInt(3) == 0 ? new GenerationOptions(MaxNewTokens: 1 + rng.NextInt(8), Temperature: 0.9f, Seed: (ulong)step)
                                                  : new GenerationOptions(MaxNewTokens: 1 + rng.NextInt(8));
                started.Add((prompt, plan, options, batch.Start(prompt, options, plan), false));
            }
            if (step % 7 == 6 && batch.Count > 1)
            {
                var victim = batch.Sequences[rng.NextInt(batch.Count)];
                batch.Remove(victim);
                int at = started.FindIndex(s => s.Sequence == victim);
                started[at] = started[at] with { Removed = true };
            }
            widest = Math.Max(widest, batch.Count);
            batch.Step();
        }
        while (batch.Count > 0) batch.Step();
        Assert.True(widest > 4, $"the batch should outgrow its first 4 slots; at most {widest} rows decoded together");
        Assert.Contains(started, s => s.Removed);
        foreach (var (prompt, plan, options, sequence, removed) in started)
        {
            var alone = Alone(model, prompt, options, plan);
            Assert.Equal(removed ? alone[..sequence.Generated.Count] : alone, sequence.Generated);
        }
    }

    [Fact]
    public void AStopTokenEndsASequenceAtThatToken()
    {
        var model = Model("gpt2-tiny");
        var free = Alone(model, [3, 14, 15, 9], new(MaxNewTokens: 8), null);
        var batch = new DecodeBatch(model);
        var other = batch.Start([9, 9, 2], new(MaxNewTokens: 8));
        var s = batch.Start([3, 14, 15, 9], new(MaxNewTokens: 8, EosTokenId: free[4]));
        while (batch.Count > 0) batch.Step();
        Assert.Equal(free[..(free.IndexOf(free[4]) + 1)], s.Generated);
        Assert.Equal(8, other.Generated.Count);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void ARequestAfterASharedStartAnswersAsWithTheWholePrompt(string name)
    {
        var model = Model(name);
        var plan = Plan(model, 8, prefix: 3, soft: 2);
        int[] template = [0, 0, 21, 22, 23];                   // two virtual-token slots, then the template's fixed text
        var start = SharedPromptStart.Compute(model, [.. template, 5], template.Length, plan);
        Assert.Equal(template, start.Ids);
        Assert.Equal(3 + template.Length, start.Prefix.Length);
        Assert.Equal(2L * model.Config.Layers * start.Prefix.Length * model.Config.KvHeads * model.Config.HeadDim * sizeof(float), start.Bytes);
        var options = new GenerationOptions(MaxNewTokens: 8);
        foreach (int[] text in new[] { new[] { 7, 1, 9 }, new[] { 30, 2 } })
        {
            int[] whole = [.. template, .. text];
            var (rest, row) = start.Continue(whole, plan)!.Value;
            Assert.Equal(text, rest);
            var batch = new DecodeBatch(model);
            var s = batch.Start(rest, options, row);
            while (batch.Count > 0) batch.Step();
            Assert.Equal(Alone(model, whole, options, plan), s.Generated);
        }
        Assert.Null(start.Continue([0, 0, 21, 22, 99, 1], plan));   // does not begin with the start
        Assert.Null(start.Continue(template, plan));                 // nothing of its own
        Assert.Null(start.Continue([.. template, 1], plan with { SoftTokens = [new(4, PlanGenerationTests.Random(new Rng(1), 1f, 2, model.Config.HiddenSize))] }));
    }
}
