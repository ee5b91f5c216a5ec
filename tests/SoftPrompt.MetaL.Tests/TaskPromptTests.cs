using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.MetaL.Tests;

/// <summary>Serving a new task: examples → one PGM pass (or several) → an ordinary adapter that means the same prompt with no PGM present.</summary>
public sealed class TaskPromptTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-metal-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static TheoryData<string, PromptDesign> Cases()
    {
        var d = new TheoryData<string, PromptDesign>();
        foreach (var m in new[] { "gpt2-tiny", "llama-tiny-gqa" }) foreach (var design in PromptDesigns.All) d.Add(m, design);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void TheSavedAdapterGivesTheTargetTheSameLogitsAsThePromptItself(string modelName, PromptDesign design)
    {
        var model = PgmGradientTests.Model(modelName);
        var pgm = new PromptGenerator(new PgmConfig(design, PadTokens: 3, LoraRank: 2, PaddingHidden: 8), model, new Rng(2));
        var encoder = new CharEncoder();
        var format = new EpisodeFormat();
        var examples = TestWorld.Examples(4);
        var task = TaskPromptMaker.Make(model, pgm, format, encoder, examples, textDemonstrations: 1);
        Assert.Equal((3, 1), (task.PromptDemonstrations, task.TextDemonstrations.Count));
        Assert.Equal(TaskPromptMaker.Chunks([.. examples.Take(3)], format, encoder, pgm.DemonstrationBudget(model, false), pgm.DemonstrationBudget(model, true), "x").Count(), task.Passes);
        TaskPromptMaker.SaveAdapter(_dir, task, model, format, encoder);

        var adapter = AdapterDirectory.Load(_dir, model);
        Assert.Equal(design == PromptDesign.Prefix ? "deep" : "prompt", adapter.Method.Name);
        Assert.Equal(PromptDesigns.Name(design), adapter.Extras!["metal"]!["design"]!.GetValue<string>());
        using var _ = Tape.NoGrad();
        var (ids, plan) = AdapterPrompt.Build(adapter, encoder, "abc");
        var viaAdapter = model.Forward(ids, 1, ids.Length, new ForwardOptions { Plan = plan }).ToArray();

        // the same request as the target LM read it while meta-training: [prompt ; X_L ; x + separator]
        var query = format.QueryTask(task.Prompt.VirtualTokens, encoder).Template
            .RenderPrompt(EpisodeFormat.Query(Example.Of(("input", "abc"), ("output", "x")), format.Demonstrations(task.TextDemonstrations)), encoder, new RenderOptions());
        Assert.Equal(query.Ids, ids);
        var direct = model.Forward(query.Ids, 1, query.Ids.Length, new ForwardOptions
        {
            Plan = task.Prompt.ToMethodOutput().Plan([query.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))]),
        }).ToArray();
        Assert.Equal(direct, viaAdapter);
    }

    [Fact]
    public void ExamplesBeyondOnePassAreReadInChunksEachAfterThePreviousPrompt()
    {
        var model = PgmGradientTests.Model("gpt2-tiny");   // 24 positions: 20 positions for demonstrations, 16 after a previous prompt
        var pgm = new PromptGenerator(new PgmConfig(PromptDesign.HiddenState, PadTokens: 4, LoraRank: 2, PaddingHidden: 8), model, new Rng(2));
        var examples = TestWorld.Examples(8);   // 8 demonstrations of 11 characters: one a pass
        var task = TaskPromptMaker.Make(model, pgm, new EpisodeFormat(), new CharEncoder(), examples, 0);
        Assert.Equal(8, task.Passes);
        var chunks = TaskPromptMaker.Chunks(examples, new EpisodeFormat(), new CharEncoder(), pgm.DemonstrationBudget(model, false), pgm.DemonstrationBudget(model, true), "x").ToArray();
        Assert.Equal(examples.Sum(e => new CharEncoder().Encode(new EpisodeFormat().Demonstration(e)).Length), chunks.Sum(c => c.Length));   // every example read once
        Assert.All(chunks.Skip(1), c => Assert.True(c.Length <= pgm.DemonstrationBudget(model, true)));

        var tooLong = new[] { Example.Of(("input", new string('a', 30)), ("output", "b")) };
        var e = Assert.Throws<ArgumentException>(() => TaskPromptMaker.Make(model, pgm, new EpisodeFormat(), new CharEncoder(), tooLong, 0));
        Assert.Contains("shorten it", e.Message);
    }

    [Fact]
    public void RefinementContinuesTheGeneratedPromptByPromptTuning()
    {
        var model = PgmGradientTests.Model("gpt2-tiny");
        var pgm = new PromptGenerator(new PgmConfig(PromptDesign.WeightedSum, PadTokens: 3, LoraRank: 2, PaddingHidden: 8), model, new Rng(2));
        var examples = TestWorld.Examples(4);
        var format = new EpisodeFormat();
        var task = TaskPromptMaker.Make(model, pgm, format, new CharEncoder(), examples, 0);
        var result = PromptRefinement.Refine(model, task, format, new CharEncoder(), examples, 5, 0.05, _dir);
        Assert.Equal(5, result.Steps);
        var refined = AdapterDirectory.Load(_dir, model).Method;
        var start = task.Prompt.Tokens!.ToArray();
        var after = ((Tuning.Methods.PromptTuning.PromptTuningMethod)refined).Embeddings.ToArray();
        Assert.NotEqual(start, after);   // it moved from the generated prompt …
        double moved = start.Zip(after).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved < 5 * 0.05 * 1.01, $"moved {moved}");   // … by at most Adam's steps: it started there
    }
}
