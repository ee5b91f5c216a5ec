using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.AttentionInputPrefix;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Tests;

/// <summary>
/// The attention-shift diagnostic on the theorem of Petrov et al.: prompt and prefix methods leave a
/// layer's attention over the content, given that layer's input, exactly as it was (to float precision);
/// LoRA on the attention projections does not.
/// </summary>
public class AttentionShiftTests
{
    static IReadOnlyList<EncodedExample> Prompts(int virtualTokens) =>
    [
        .. Enumerable.Range(0, 3).Select(r =>
        {
            int[] text = [.. Enumerable.Range(0, 6 + r).Select(t => (r * 11 + t * 7 + 3) % 60 + 1)];
            var ids = new int[virtualTokens].Concat(text).ToArray();
            return new EncodedExample(ids, virtualTokens > 0 ? [new SoftSlot(0, 0, virtualTokens)] : [], ids.Length, []);
        }),
    ];

    [Theory]
    [InlineData("gpt2-tiny", "prompt")]
    [InlineData("gpt2-tiny", "ptuning")]
    [InlineData("gpt2-tiny", "prefix")]
    [InlineData("llama-tiny-gqa", "prefix")]
    [InlineData("llama-tiny-gqa", "deep")]
    [InlineData("gpt2-tiny", "attention-input")]
    [InlineData("llama-tiny-gqa", "attention-input")]
    public void PromptAndPrefixMethodsDoNotChangeAttentionOverTheContent(string modelName, string kind)
    {
        var model = MethodGradientTests.Model(modelName);
        var rng = new Rng(4);
        TuningMethod m = kind switch
        {
            "prompt" => PromptTuningMethod.Create(new PromptTuningConfig(3), model, rng),
            "ptuning" => PTuningMethod.Create(new PTuningConfig(3, EncoderHiddenSize: 8), model, rng),
            "prefix" => PrefixTuningMethod.Create(new PrefixTuningConfig(3, EncoderHiddenSize: 16), model, rng),
            "deep" => DeepPromptMethod.Create(new DeepPromptConfig(3), model, rng),
            _ => AttentionInputPrefixMethod.Create(3, model, rng),
        };
        var report = AttentionShift.Analyze(model, m, Prompts(m.VirtualTokens));
        Assert.True(report.MaxDirectChange < AttentionShift.Tolerance, $"{kind}: direct change {report.MaxDirectChange:E2}");
        Assert.True(report.MeanPrefixMass > 0.01, $"{kind}: the prefix takes attention ({report.MeanPrefixMass:F3})");
        // With rotary positions a prefix leaves layer 0's input as it was (GPT-2's learned positions shift by P).
        if (modelName.StartsWith("llama") && kind is "prefix" or "deep") Assert.All(report.Heads.Where(h => h.Layer == 0), h => Assert.Equal(0.0, h.TotalChange, 5));
        // An attention-input prefix's slots keep their positions: compared with the plain run on the same ids, layer 0 reads the same content.
        if (kind == "attention-input") Assert.All(report.Heads.Where(h => h.Layer == 0), h => Assert.Equal(0.0, h.TotalChange, 5));
        Assert.True(report.MaxTotalChange > 1e-3, "later layers see earlier layers' biased outputs");
        Assert.All(report.Heads, h => Assert.InRange(h.BiasRank, 1, 3));   // at most the prefix length
        Assert.Contains("only biases attention outputs", report.Verdict);
    }

    [Fact]
    public void LoraOnTheAttentionProjectionsChangesTheAttention()
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        var lora = LoraMethod.Create(new LoraConfig(2, 4f, TargetModules: ["c_attn"]), model, new Rng(2));
        foreach (var (_, _, b) in lora.Adapters) new Rng(3).FillNormal(b.Span, 0f, 0.5f);
        var report = AttentionShift.Analyze(model, lora, Prompts(0));
        Assert.True(report.MaxDirectChange > 1e-3, $"direct change {report.MaxDirectChange:E2}");
        Assert.Equal(0.0, report.MeanPrefixMass, 6);
        Assert.Contains("can learn new attention patterns", report.Verdict);
    }

    [Fact]
    public void LoraOffTheQueryAndKeyProjectionsIsNotCalledABias()
    {
        // Petrov et al.'s LoRA (c_proj, c_fc): no layer's attention changes given its input, yet it is not a prefix.
        var model = MethodGradientTests.Model("gpt2-tiny");
        var lora = LoraMethod.Create(new LoraConfig(1, 1f, TargetModules: ["c_proj", "c_fc"]), model, new Rng(2));
        foreach (var (_, _, b) in lora.Adapters) new Rng(3).FillNormal(b.Span, 0f, 0.5f);
        var report = AttentionShift.Analyze(model, lora, Prompts(0));
        Assert.True(report.MaxDirectChange < AttentionShift.Tolerance, $"direct change {report.MaxDirectChange:E2}");
        Assert.True(report.MaxTotalChange > 1e-3, $"total change {report.MaxTotalChange:E2}: layer 1 reads layer 0's updated output");
        Assert.DoesNotContain("only biases", report.Verdict);
        Assert.Contains("no query or key projection", report.Verdict);
        Assert.Contains("attn.c_proj", report.Verdict);
        Assert.Contains("mlp.c_fc", report.Verdict);
    }
}
