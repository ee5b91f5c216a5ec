using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Config;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Tests;

/// <summary>
/// Training mode (ForwardOptions.DropoutRng): the checkpoint's own dropouts — GPT-2's embd_pdrop, attn_pdrop
/// and resid_pdrop — act at Hugging Face's places; evaluation mode is unchanged.
/// </summary>
public sealed class ModelDropoutTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-dropout-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    /// <summary>gpt2-tiny with config.json's fields set as given.</summary>
    ICausalLanguageModel Tiny(params (string Field, double Value)[] fields)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("gpt2-tiny"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        foreach (var (field, value) in fields) config[field] = value;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return Gpt2Model.Load(dir);
    }

    static readonly int[] Ids = [3, 14, 15, 9, 2, 6, 5, 35, 8, 9, 7, 9, 3, 2, 38, 4];   // batch 2 × 8

    static float[] Logits(ICausalLanguageModel model, Rng? dropout)
    {
        using var _ = Tape.NoGrad();
        return model.Forward(Ids, 2, 8, new ForwardOptions { DropoutRng = dropout }).ToArray();
    }

    [Fact]
    public void TheConfigNamesTheDropouts()
    {
        Assert.Equal(new ModelDropout(0.1f, 0.1f, 0.1f), Gpt2Model.Load(Fixture("gpt2-tiny")).Config.Dropout);   // absent: GPT2Config's defaults
        Assert.Equal(new ModelDropout(0.2f, 0f, 0.3f), Tiny(("embd_pdrop", 0.2), ("attn_pdrop", 0), ("resid_pdrop", 0.3)).Config.Dropout);
        var e = Assert.Throws<ModelConfigException>(() => Tiny(("attn_pdrop", 1.5)));
        Assert.Contains("'attn_pdrop'", e.Message);
        Assert.Contains("config.json", e.Message);
        Assert.Equal(ModelDropout.None, LlamaModel.Load(Fixture("llama-tiny-gqa")).Config.Dropout);   // attention_dropout absent: 0
    }

    [Fact]
    public void ZeroRatesInTrainingModeGiveTheEvaluationLogits()
    {
        var model = Tiny(("embd_pdrop", 0), ("attn_pdrop", 0), ("resid_pdrop", 0));
        Assert.Equal(Logits(model, null), Logits(model, new Rng(5)));
    }

    [Theory]
    [InlineData("embd_pdrop")]
    [InlineData("attn_pdrop")]
    [InlineData("resid_pdrop")]
    public void EachDropoutActsOnlyInTrainingModeAndIsReproducible(string field)
    {
        string[] all = ["embd_pdrop", "attn_pdrop", "resid_pdrop"];
        var model = Tiny([.. all.Select(f => (f, f == field ? 0.3 : 0.0))]);
        var eval = Logits(model, null);
        Assert.Equal(eval, Logits(Gpt2Model.Load(Fixture("gpt2-tiny")), null));   // evaluation mode: the reference-checked logits
        var train = Logits(model, new Rng(5));
        double change = eval.Zip(train, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(change > 1e-3, $"{field}: training-mode logits moved only {change:E2}");
        Assert.Equal(train, Logits(model, new Rng(5)));   // the same stream, the same masks
        Assert.NotEqual(train, Logits(model, new Rng(6)));
    }

    [Fact]
    public void TheGradientThroughTheMasksMatchesFiniteDifferences()
    {
        // ∂L/∂(soft token embeddings) in training mode, every dropout at 0.2; each evaluation restarts the stream, so the masks are fixed.
        var model = Tiny(("embd_pdrop", 0.2), ("attn_pdrop", 0.2), ("resid_pdrop", 0.2));
        var r = new Rng(11);
        var soft = Tensor.Zeros(2, model.Config.HiddenSize);
        for (int i = 0; i < soft.Length; i++) soft.Span[i] = 0.5f * r.NextNormal();
        var weights = Tensor.Zeros(2 * 8 * model.Config.VocabSize);
        for (int i = 0; i < weights.Length; i++) weights.Span[i] = r.NextNormal();
        double Loss(Tensor s)
        {
            var plan = PromptPlan.Uniform(2, new RowPlan { SoftTokens = [new(1, s)] });
            var logits = model.Forward(Ids, 2, 8, new ForwardOptions { Plan = plan, DropoutRng = new Rng(3) });
            return F.Sum(F.Mul(F.Reshape(logits, logits.Length), weights)).Span[0];
        }
        Tape.Clear();
        soft.RequiresGrad = true;
        var plan = PromptPlan.Uniform(2, new RowPlan { SoftTokens = [new(1, soft)] });
        var logits = model.Forward(Ids, 2, 8, new ForwardOptions { Plan = plan, DropoutRng = new Rng(3) });
        F.Sum(F.Mul(F.Reshape(logits, logits.Length), weights)).Backward();
        var analytic = soft.Grad!.ToArray();
        soft.RequiresGrad = false;
        Tape.Clear();
        const float h = 1e-2f;
        double scale = analytic.Max(Math.Abs);
        using var _ = Tape.NoGrad();
        foreach (int i in new[] { 0, 7, 19, 31, 40, 63 })
        {
            float keep = soft.Span[i];
            soft.Span[i] = keep + h; double up = Loss(soft);
            soft.Span[i] = keep - h; double down = Loss(soft);
            soft.Span[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-2 * scale, $"entry {i}: finite difference {numeric:G5}, backward {analytic[i]:G5} (largest {scale:G3})");
        }
    }

    [Fact]
    public void AnObserverNeedsEvaluationMode()
    {
        ICausalLanguageModel model = Gpt2Model.Load(Fixture("gpt2-tiny"));
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Ids, 2, 8, new ForwardOptions { DropoutRng = new Rng(1), AttentionObserver = new NullObserver() }));
        Assert.Contains("evaluation mode", e.Message);
    }

    sealed class NullObserver : IAttentionObserver
    {
        public bool WantsBaseline => false;
        public void Observe(AttentionObservation observation) { }
    }
}
