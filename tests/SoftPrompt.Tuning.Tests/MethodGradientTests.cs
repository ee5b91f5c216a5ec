using System.Runtime.InteropServices;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.AttentionInputPrefix;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Tests;

/// <summary>
/// Every method's loss and parameter gradients on a tiny frozen model against
/// tests/fixtures/tuning/methods-*.safetensors (tools/make_method_fixtures.py: PEFT's constructions
/// in float64 PyTorch), and against finite differences.
/// </summary>
public class MethodGradientTests
{
    internal static string ModelDir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    internal static ICausalLanguageModel Model(string name) => ModelLoader.Load(ModelDir(name));

    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var m in new[] { "gpt2-tiny", "llama-tiny-gqa" })
            foreach (var method in new[] { "prompt", "ptuning_lstm", "ptuning_mlp", "prefix", "deep", "lora", "full", "attn_prefix" }) d.Add(m, method);
        return d;
    }

    /// <summary>The method of the fixture case, built with the fixture's sizes and its parameters copied in.</summary>
    internal static (TuningMethod Method, (int, int, int)[] Slots) Build(string method, ICausalLanguageModel model, SafetensorsFile fx)
    {
        var rng = new Rng(1);
        int layers = model.Config.Layers, width = PrefixLayout.Width(model), d = model.Config.HiddenSize;
        (TuningMethod m, (int, int, int)[] slots) = method switch
        {
            "prompt" => ((TuningMethod)new PromptTuningMethod(new PromptTuningConfig(4), Tensor.ZerosOnHeap(4, d)), new[] { (0, 0, 4) }),
            "ptuning_lstm" => (new PTuningMethod(new PTuningConfig(4, PromptEncoderType.Lstm, EncoderHiddenSize: 6), d, rng), [(0, 0, 2), (5, 2, 2)]),
            "ptuning_mlp" => (new PTuningMethod(new PTuningConfig(4, PromptEncoderType.Mlp, EncoderHiddenSize: 6), d, rng), [(0, 0, 2), (5, 2, 2)]),
            "prefix" => (new PrefixTuningMethod(new PrefixTuningConfig(4, EncoderHiddenSize: 7), layers, width, rng), []),
            "deep" => (new DeepPromptMethod(new DeepPromptConfig(4), layers, width, d, rng), []),
            "lora" => (new LoraMethod(new LoraConfig(2, 4f), [.. fx.Metadata["lora_targets"].Split(',').Select(n => model.LinearLayers.Single(l => l.Name == n))], rng), []),
            "full" => (new FullFineTuningMethod(new FullFineTuningConfig(), [.. fx.Metadata["lora_targets"].Split(',').Select(n => model.LinearLayers.Single(l => l.Name == n))]), []),
            "attn_prefix" => (new AttentionInputPrefixMethod(4, layers, d, rng), [(0, 0, 4)]),
            _ => throw new ArgumentException(method),
        };
        var expected = fx.Entries.Keys.Where(k => k.StartsWith(method + "/") && !k.StartsWith(method + "/grad/") && k != method + "/loss")
            .Select(k => k[(method.Length + 1)..]).Order().ToArray();
        var names = m.NamedParameters().Select(kv => kv.Key).Order().ToArray();
        Assert.Equal(expected, names);
        foreach (var (name, p) in m.NamedParameters()) fx.ReadFloat32(method + "/" + name, p.Span);
        m.RequiresGrad();
        return (m, slots);
    }

    internal static int[] Ints(SafetensorsFile fx, string key) => MemoryMarshal.Cast<byte, int>(fx.Bytes(key)).ToArray();

    /// <summary>Mean cross-entropy at the fixture's answer positions with the method's plan on every row.</summary>
    internal static Tensor Loss(ICausalLanguageModel model, TuningMethod method, (int, int, int)[] slots, SafetensorsFile fx)
    {
        var ids = Ints(fx, "ids");
        int b = fx.Entry("ids").Shape[0], t = fx.Entry("ids").Shape[1];
        var row = method.Compute().Row(slots);
        var logits = model.Forward(ids, b, t, new ForwardOptions { Plan = PromptPlan.Uniform(b, row), OutputPositions = Ints(fx, "output_positions") });
        return F.CrossEntropy(logits, Ints(fx, "targets"));
    }

    [Theory, MemberData(nameof(Cases))]
    public void LossAndGradientsMatchPeftInPyTorch(string modelName, string method)
    {
        var model = Model(modelName);
        using var fx = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "fixtures", "tuning", $"methods-{modelName}.safetensors"));
        var (m, slots) = Build(method, model, fx);
        Tape.Clear();
        var loss = Loss(model, m, slots, fx);
        float expectedLoss = fx.LoadTensor(method + "/loss").Span[0];
        Assert.True(Math.Abs(loss.Span[0] - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"{modelName}/{method}: loss {loss.Span[0]} vs {expectedLoss}");
        loss.Backward();
        foreach (var (name, p) in m.NamedParameters())
            Compare.Close(p.Grad!.ToArray(), fx.LoadTensor($"{method}/grad/{name}").ToArray(), 1e-4, $"{modelName}/{method} ∂L/∂{name}");
    }

    [Theory]
    [InlineData("gpt2-tiny", "prompt")]
    [InlineData("gpt2-tiny", "ptuning_lstm")]
    [InlineData("llama-tiny-gqa", "prefix")]
    [InlineData("llama-tiny-gqa", "deep")]
    [InlineData("llama-tiny-gqa", "lora")]
    [InlineData("gpt2-tiny", "full")]
    [InlineData("llama-tiny-gqa", "attn_prefix")]
    public void GradientsMatchFiniteDifferences(string modelName, string method)
    {
        // Central differences in float64 arithmetic on the float32 loss, at 6 elements of every parameter.
        var model = Model(modelName);
        using var fx = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "fixtures", "tuning", $"methods-{modelName}.safetensors"));
        var (m, slots) = Build(method, model, fx);
        Tape.Clear();
        var loss = Loss(model, m, slots, fx);
        loss.Backward();
        var rng = new Rng(9);
        const float eps = 1e-2f;
        // The float32 loss is rounded (and its summation order is the kernels'): a difference of two losses
        // carries a few units in the last place of noise, ~5e-5 in the quotient for a loss near 3, which a
        // parameter with tiny gradients (an LSTM's recurrent weights) would otherwise have to beat.
        float l0 = Math.Abs(loss.Span[0]);
        double noise = 4.0 * (MathF.BitIncrement(l0) - l0) / (2 * eps);
        using var _ = Tape.NoGrad();
        foreach (var (name, p) in m.NamedParameters())
        {
            var analytic = p.Grad!.ToArray();
            double scale = Math.Max(analytic.Max(Math.Abs), 1e-3);
            for (int k = 0; k < 6; k++)
            {
                int j = (int)(rng.NextUInt64() % (ulong)p.Length);
                float v = p.Span[j];
                p.Span[j] = v + eps; double lp = Loss(model, m, slots, fx).Span[0];
                p.Span[j] = v - eps; double lm = Loss(model, m, slots, fx).Span[0];
                p.Span[j] = v;
                double numeric = (lp - lm) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j]) <= 2e-3 * scale + 2e-2 * Math.Abs(analytic[j]) + noise,
                    $"{modelName}/{method} {name}[{j}]: numeric {numeric:G5}, autograd {analytic[j]:G5}");
            }
        }
    }
}
