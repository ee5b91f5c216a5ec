using System.Runtime.InteropServices;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.MetaL.Tests;

/// <summary>
/// The PGM and the target LM against tools/make_metal_fixtures.py's float64 PyTorch construction, per design and model:
/// the prompt, the loss on the target's answers, and its gradient for every LoRA and padding parameter; and against
/// finite differences.
/// </summary>
public sealed class PgmGradientTests
{
    static readonly Dictionary<string, string[]> LoraTargets = new()
    {
        ["gpt2-tiny"] = ["transformer.h.0.attn.c_attn", "transformer.h.1.mlp.c_fc"],
        ["llama-tiny-gqa"] = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
    };

    static readonly Dictionary<PromptDesign, string> FixtureName = new()
    {
        [PromptDesign.HiddenState] = "hidden", [PromptDesign.WeightedSum] = "weighted", [PromptDesign.Discrete] = "discrete", [PromptDesign.Prefix] = "prefix",
    };

    public static TheoryData<string, PromptDesign> Cases()
    {
        var d = new TheoryData<string, PromptDesign>();
        foreach (var m in LoraTargets.Keys) foreach (var design in PromptDesigns.All) d.Add(m, design);
        return d;
    }

    internal static ICausalLanguageModel Model(string name) => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name));

    internal static SafetensorsFile Fixture(string name) => SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "fixtures", "metal", $"pgm-{name}.safetensors"));

    static int[] Ints(SafetensorsFile fx, string key) => MemoryMarshal.Cast<byte, int>(fx.Bytes(key)).ToArray();

    /// <summary>The fixture's PGM: M = 3 pads from an MLP encoder (hidden 6), rank-2 LoRA (alpha 4) on two layers, its parameters copied in.</summary>
    internal static PromptGenerator Build(string modelName, PromptDesign design, ICausalLanguageModel model, SafetensorsFile fx)
    {
        var pgm = new PromptGenerator(new PgmConfig(design, PadTokens: 3, LoraRank: 2, LoraAlpha: 4f, LoraTargets: LoraTargets[modelName], PaddingHidden: 6,
            GumbelTau: fx.LoadTensor("tau").Span[0]), model, new Rng(1));
        var expected = fx.Entries.Keys.Where(k => k.StartsWith("param/")).Select(k => k["param/".Length..]).Order().ToArray();
        Assert.Equal(expected, pgm.NamedParameters().Select(kv => kv.Key).Order().ToArray());
        foreach (var (name, p) in pgm.NamedParameters()) fx.ReadFloat32("param/" + name, p.Span);
        return pgm;
    }

    /// <summary>The design's prompt from the fixture's X_P, then the target LM's mean cross-entropy at the fixture's positions.</summary>
    internal static (Tensor Loss, GeneratedPrompt Prompt) Loss(PromptGenerator pgm, ICausalLanguageModel model, SafetensorsFile fx)
    {
        var noise = pgm.Config.Design == PromptDesign.Discrete ? fx.LoadTensor("gumbel_noise") : null;
        var prompt = pgm.Generate(model, Ints(fx, "ids_p"), noise);
        var idsT = Ints(fx, "ids_t");
        int b = fx.Entry("ids_t").Shape[0], t = fx.Entry("ids_t").Shape[1], m = prompt.Length;
        bool prefix = prompt.Prefix is not null;
        int seq = prefix ? t : m + t;
        var ids = new int[b * seq];
        for (int r = 0; r < b; r++) idsT.AsSpan(r * t, t).CopyTo(ids.AsSpan(r * seq + seq - t));   // soft designs: M placeholders first
        var slots = Enumerable.Repeat<IEnumerable<(int, int, int)>>(prefix ? [] : [(0, 0, m)], b);
        var logits = model.Forward(ids, b, seq, new ForwardOptions
        {
            Plan = prompt.ToMethodOutput().Plan(slots),
            OutputPositions = Ints(fx, prefix ? "prefix_output_positions" : "output_positions"),
        });
        return (F.CrossEntropy(logits, Ints(fx, "targets")), prompt);
    }

    [Theory, MemberData(nameof(Cases))]
    public void PromptLossAndGradientsMatchPyTorch(string modelName, PromptDesign design)
    {
        var model = Model(modelName);
        using var fx = Fixture(modelName);
        var pgm = Build(modelName, design, model, fx);
        string d = FixtureName[design];
        Tape.Clear();
        var (loss, prompt) = Loss(pgm, model, fx);
        if (prompt.Prefix is { } p)
            for (int l = 0; l < p.Keys.Count; l++)
            {
                Compare.Close(p.Keys[l].ToArray(), fx.LoadTensor($"prefix/keys.{l}").ToArray(), 1e-4, $"{modelName}/{d} keys of layer {l}");
                Compare.Close(p.Values[l].ToArray(), fx.LoadTensor($"prefix/values.{l}").ToArray(), 1e-4, $"{modelName}/{d} values of layer {l}");
            }
        else Compare.Close(prompt.Tokens!.ToArray(), fx.LoadTensor($"{d}/prompt").ToArray(), 1e-4, $"{modelName}/{d} prompt");
        if (design == PromptDesign.Discrete) Assert.Equal(Ints(fx, "discrete/ids"), prompt.TokenIds);
        float expectedLoss = fx.LoadTensor($"{d}/loss").Span[0];
        Assert.True(Math.Abs(loss.Span[0] - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"{modelName}/{d}: loss {loss.Span[0]} vs {expectedLoss}");
        loss.Backward();
        // The gradient crosses two float32 networks (the target LM back into the prompt, then the PGM), so 2e-4 where one
        // method's fixtures take 1e-4. A LoRA the loss cannot reach (GPT-2's last MLP under the prefix design: the prefix is
        // the keys and values, computed before it) gets no gradient at all, and the reference's is exactly zero.
        foreach (var (name, param) in pgm.NamedParameters())
            Compare.Close(param.Grad?.ToArray() ?? new float[param.Length], fx.LoadTensor($"{d}/grad/{name}").ToArray(), 2e-4, $"{modelName}/{d} ∂L/∂{name}");
    }

    [Theory]
    [InlineData("gpt2-tiny", PromptDesign.HiddenState)]
    [InlineData("gpt2-tiny", PromptDesign.WeightedSum)]
    [InlineData("llama-tiny-gqa", PromptDesign.Prefix)]
    [InlineData("llama-tiny-gqa", PromptDesign.WeightedSum)]
    public void GradientsMatchFiniteDifferences(string modelName, PromptDesign design)
    {
        // Central differences on the float32 loss at 4 elements of every parameter (the discrete design's straight-through
        // gradient is not the derivative of its piecewise-constant forward, so it is checked against PyTorch only).
        var model = Model(modelName);
        using var fx = Fixture(modelName);
        var pgm = Build(modelName, design, model, fx);
        Tape.Clear();
        var (loss, _) = Loss(pgm, model, fx);
        loss.Backward();
        var rng = new Rng(9);
        const float eps = 1e-2f;
        float l0 = Math.Abs(loss.Span[0]);
        double noise = 4.0 * (MathF.BitIncrement(l0) - l0) / (2 * eps);
        using var _ = Tape.NoGrad();
        foreach (var (name, p) in pgm.NamedParameters())
        {
            var analytic = p.Grad?.ToArray() ?? new float[p.Length];
            double scale = Math.Max(analytic.Max(Math.Abs), 1e-3);
            for (int k = 0; k < 4; k++)
            {
                int j = (int)(rng.NextUInt64() % (ulong)p.Length);
                float v = p.Span[j];
                p.Span[j] = v + eps; double lp = Loss(pgm, model, fx).Loss.Span[0];
                p.Span[j] = v - eps; double lm = Loss(pgm, model, fx).Loss.Span[0];
                p.Span[j] = v;
                double numeric = (lp - lm) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j]) <= 2e-3 * scale + 2e-2 * Math.Abs(analytic[j]) + noise,
                    $"{modelName}/{design} {name}[{j}]: numeric {numeric:G5}, autograd {analytic[j]:G5}");
            }
        }
    }

    [Fact]
    public void TheDiscretePromptIsExactlyTheChosenTokensEmbeddingsAndItsGradientIsTheSoftmaxs()
    {
        var model = Model("gpt2-tiny");
        using var fx = Fixture("gpt2-tiny");
        var pgm = Build("gpt2-tiny", PromptDesign.Discrete, model, fx);
        Tape.Clear();
        var noise = fx.LoadTensor("gumbel_noise");
        var prompt = pgm.Generate(model, Ints(fx, "ids_p"), noise);
        using (Tape.NoGrad())
            Assert.Equal(model.EmbedTokens(prompt.TokenIds!).ToArray(), prompt.Tokens!.ToArray());   // forward: an exact one-hot, bit for bit

        // backward: the gradient reaching the logits is softmax((logits + g)/τ)'s, as if the forward had been soft
        int m = pgm.PadTokens, v = model.Config.VocabSize;
        float tau = pgm.Config.GumbelTau;
        var logits = Tensor.ZerosOnHeap(m, v);
        new Rng(3).FillNormal(logits.Span, 0f, 1f);
        logits.RequiresGrad = true;
        var upstream = Tensor.ZerosOnHeap(m, v);
        new Rng(4).FillNormal(upstream.Span, 0f, 1f);
        F.Sum(F.Mul(F.GumbelSoftmax(logits, tau, hard: true, noise), upstream)).Backward();
        var hard = logits.Grad!.ToArray();
        logits.Grad = null;
        F.Sum(F.Mul(F.Softmax(F.Scale(F.Add(logits, noise), 1f / tau)), upstream)).Backward();
        Compare.Close(hard, logits.Grad!.ToArray(), 1e-5, "straight-through gradient vs softmax((logits + g)/τ)'s");
    }

    [Fact]
    public void ServingPicksThePgmsMostLikelyTokensWithNoNoise()
    {
        var model = Model("llama-tiny-gqa");
        using var fx = Fixture("llama-tiny-gqa");
        var pgm = Build("llama-tiny-gqa", PromptDesign.Discrete, model, fx);
        using var _ = Tape.NoGrad();
        var prompt = pgm.Generate(model, Ints(fx, "ids_p"));
        // with zero noise the straight-through path's one-hot is the argmax of the logits themselves
        var noiseless = pgm.Generate(model, Ints(fx, "ids_p"), Tensor.ZerosOnHeap(pgm.PadTokens, model.Config.VocabSize));
        Assert.Equal(noiseless.TokenIds, prompt.TokenIds);
        Assert.Equal(model.EmbedTokens(prompt.TokenIds!).ToArray(), prompt.Tokens!.ToArray());
    }
}
