using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Models.Tests;

public class GenerationTests
{
    static ICausalLanguageModel Model(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);
        return name.StartsWith("gpt2") ? Gpt2Model.Load(dir) : LlamaModel.Load(dir);
    }

    static readonly int[] Prompt = [3, 14, 15, 9, 2, 6];

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void ACachedForwardInChunksEqualsOneForward(string name)
    {
        var model = Model(name);
        using var _ = Tape.NoGrad();
        int v = model.Config.VocabSize;
        float[] whole = model.Forward(Prompt, 1, Prompt.Length).ToArray();
        var cache = new KvCache(model.Config.Layers);
        model.Forward(Prompt.AsSpan(0, 4), 1, 4, cache);
        float[] tail = model.Forward(Prompt.AsSpan(4), 1, 2, cache).ToArray();
        Assert.Equal(6, cache.Length);
        for (int i = 0; i < 2 * v; i++)
            Assert.True(Math.Abs(whole[4 * v + i] - tail[i]) <= 1e-4f * (1 + Math.Abs(whole[4 * v + i])), $"{name}: logit {i} differs");
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void GreedyWithTheCacheEqualsGreedyWithout(string name)
    {
        var model = Model(name);
        var cached = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 12)).ToList();
        var plain = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 12, UseCache: false)).ToList();
        Assert.Equal(12, cached.Count);
        Assert.Equal(plain, cached);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void ABatchWithPaddingEqualsEachPromptAlone(string name)
    {
        var model = Model(name);
        IReadOnlyList<int>[] prompts = [[3, 14, 15, 9, 2, 6], [7, 1], [5, 5, 8, 2]];
        var options = new GenerationOptions(MaxNewTokens: 8);
        var batched = Generator.GenerateBatch(model, prompts, options);
        for (int b = 0; b < prompts.Length; b++)
            Assert.Equal(Generator.Generate(model, prompts[b], options).ToList(), batched[b]);
    }

    [Fact]
    public void PositionIdsSkipLeftPadding()
    {
        Assert.Equal([1, 1, 0, 1, 2], PositionIds.For(1, 5, 0, [0, 0, 1, 1, 1]));
        Assert.Equal([3, 4], PositionIds.For(1, 2, 3, [1, 1, 1, 1, 1]));
        Assert.Equal([2], PositionIds.For(1, 1, 3, [0, 1, 1, 1]));
        Assert.Throws<ArgumentException>(() => PositionIds.For(1, 2, 0, [1, 1, 1]));
    }

    [Fact]
    public void SamplingIsSeededAndTopKOneIsGreedy()
    {
        var model = Model("llama-tiny-gqa");
        var a = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10, Temperature: 1.5f, Seed: 5)).ToList();
        var b = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10, Temperature: 1.5f, Seed: 5)).ToList();
        var c = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10, Temperature: 1.5f, Seed: 6)).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var greedy = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10)).ToList();
        var topOne = Generator.Generate(model, Prompt, new GenerationOptions(MaxNewTokens: 10, Temperature: 0.7f, TopK: 1, Seed: 9)).ToList();
        Assert.Equal(greedy, topOne);
    }

    [Fact]
    public void TopPKeepsTheSmallestSufficientPrefix()
    {
        // probabilities ∝ exp(logits): token 2 holds ~0.84 of the mass, so top-p 0.8 can only pick it.
        float[] logits = [0f, 1f, 3.5f, -1f];
        var rng = new Rng(1);
        var o = new GenerationOptions(Temperature: 1f, TopP: 0.8f);
        for (int i = 0; i < 50; i++) Assert.Equal(2, Sampling.Choose(logits, [], o, rng));
    }

    [Fact]
    public void RepetitionPenaltyDemotesSeenTokens()
    {
        float[] logits = [2f, 1.5f, -1f];
        var o = new GenerationOptions(RepetitionPenalty: 2f);
        Assert.Equal(1, Sampling.Choose(logits, [0], o, new Rng(0)));   // 2/2 = 1 < 1.5
    }
}
