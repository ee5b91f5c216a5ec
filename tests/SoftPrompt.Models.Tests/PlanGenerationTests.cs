using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

/// <summary>A prompt plan during generation (prefix in the cache, soft tokens in the prompt pass, deltas every step), stop strings, streaming.</summary>
public class PlanGenerationTests
{
    static ICausalLanguageModel Model(string name) => PromptPlanTests.Load(name);

    internal static Tensor Random(Rng rng, float std, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillNormal(t.Span, 0f, std);
        return t;
    }

    /// <summary>A row plan with every part: soft tokens at the front, a prefix of the given length, a delta on the first linear layer (unless told not).</summary>
    internal static RowPlan FullPlan(ICausalLanguageModel model, ulong seed, int prefix, int soft, bool delta = true)
    {
        var rng = new Rng(seed);
        var c = model.Config;
        int width = c.KvHeads * c.HeadDim;
        var layer = model.LinearLayers[0];
        return new RowPlan
        {
            SoftTokens = soft == 0 ? [] : [new(0, Random(rng, 1f, soft, c.HiddenSize))],
            Prefix = prefix == 0 ? null : new KvPrefix([.. Enumerable.Range(0, c.Layers).Select(_ => Random(rng, 1f, prefix, width))],
                                                       [.. Enumerable.Range(0, c.Layers).Select(_ => Random(rng, 1f, prefix, width))]),
            Deltas = delta ? [new(layer.Name, Random(rng, 0.3f, 2, layer.InFeatures), Random(rng, 0.3f, layer.OutFeatures, 2), 2f)] : [],
        };
    }

    static readonly int[] Prompt = [0, 0, 3, 14, 15, 9, 2, 6];   // the first two ids are slots for soft tokens

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void GreedyWithAPlanIsTheSameWithAndWithoutTheCache(string name)
    {
        var model = Model(name);
        var plan = new PromptPlan([FullPlan(model, 1, prefix: 3, soft: 2)]);
        var cached = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10), plan).ToList();
        var plain = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10, UseCache: false), plan).ToList();
        Assert.Equal(plain, cached);
        // and the plan matters: without it the tokens differ
        Assert.NotEqual(cached, Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10)).ToList());
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void ABatchOfRowsWithDifferentPlansEqualsEachRowAlone(string name)
    {
        var model = Model(name);
        IReadOnlyList<int>[] prompts = [Prompt, Prompt[..5], [0, 7, 7, 1], Prompt[2..]];
        RowPlan?[] rows = [FullPlan(model, 2, prefix: 3, soft: 2), FullPlan(model, 3, prefix: 1, soft: 0), FullPlan(model, 4, prefix: 0, soft: 1), null];
        var options = new GenerationOptions(MaxNewTokens: 7);
        var batched = Generator.GenerateBatch(model, prompts, options, plan: new PromptPlan(rows));
        for (int b = 0; b < prompts.Length; b++)
            Assert.Equal(Generator.Generate(model, prompts[b], options, rows[b] is null ? null : new PromptPlan([rows[b]])).ToList(), batched[b]);
    }

    /// <summary>A toy detokenizer: id i is the letter 'a' + i mod 26.</summary>
    static string Letters(IReadOnlyList<int> ids) => new([.. ids.Select(i => (char)('a' + i % 26))]);

    [Fact]
    public void AStopStringEndsGenerationWithTheTokenThatCompletesIt()
    {
        var model = Model("gpt2-tiny");
        var free = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 12)).ToList();
        string stop = Letters(free[3..5]);                       // completed by the fifth new token (if not earlier)
        int end = Letters(free).IndexOf(stop, StringComparison.Ordinal) + stop.Length;
        var stopped = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 12) { StopStrings = ["zzzz", stop], Decode = Letters }).ToList();
        Assert.Equal(free[..end], stopped);
        var batch = Generator.GenerateBatch(model, [Prompt, Prompt[2..]], new GenerationOptions(MaxNewTokens: 12) { StopStrings = [stop], Decode = Letters });
        Assert.Equal(free[..end], batch[0]);
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, Prompt, new GenerationOptions { StopStrings = ["x"] }).ToList());   // no Decode
    }

    [Fact]
    public async Task StreamingYieldsTheSameTokensAndCanBeCancelled()
    {
        var model = Model("llama-tiny-gqa");
        var options = new GenerationOptions(MaxNewTokens: 9, Temperature: 0.8f, Seed: 4);
        var expected = Generator.Generate(model, Prompt, options).ToList();
        var streamed = new List<int>();
        await foreach (int id in Generator.StreamAsync(model, Prompt, options)) streamed.Add(id);
        Assert.Equal(expected, streamed);

        using var cts = new CancellationTokenSource();
        var got = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (int id in Generator.StreamAsync(model, Prompt, options, cancellationToken: cts.Token))
            {
                got.Add(id);
                if (got.Count == 3) cts.Cancel();
            }
        });
        Assert.Equal(expected[..3], got);
    }
}
