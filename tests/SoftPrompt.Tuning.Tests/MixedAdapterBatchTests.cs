using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Tests;

/// <summary>One forward over rows that use different adapters — methods and prompt lengths — equals each row alone (what the server relies on).</summary>
public class MixedAdapterBatchTests
{
    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void RowsWithDifferentAdaptersEqualEachRowAlone(string name)
    {
        var model = MethodGradientTests.Model(name);
        var rng = new Rng(8);
        var lora = LoraMethod.Create(new LoraConfig(2, 4f, TargetModules: ["c_attn", "q_proj", "v_proj", "mlp.c_proj", "down_proj"]), model, rng);
        foreach (var (_, _, b) in lora.Adapters) rng.FillNormal(b.Span, 0f, 0.2f);
        // Linear weights only: a fine-tuning of every parameter changes the embeddings and norms every row shares (tested below).
        var full = FullFineTuningMethod.Create(new FullFineTuningConfig(["c_attn", "c_proj", "c_fc", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]), model);
        foreach (var (_, d) in full.Deltas) rng.FillNormal(d.Span, 0f, 0.02f);
        TuningMethod?[] methods =
        [
            PromptTuningMethod.Create(new PromptTuningConfig(4), model, rng),
            PTuningMethod.Create(new PTuningConfig(2, EncoderHiddenSize: 8), model, rng),
            PrefixTuningMethod.Create(new PrefixTuningConfig(3, EncoderHiddenSize: 16), model, rng),
            DeepPromptMethod.Create(new DeepPromptConfig(5), model, rng),
            lora,
            full,
            null,
        ];
        // Each row: 9 ids; virtual tokens at the front for prompt tuning, at position 3 for P-tuning.
        int[] Ids(int row) => [.. Enumerable.Range(0, 9).Select(t => (row * 7 + t * 5 + 1) % model.Config.VocabSize)];
        (int, int, int)[] Slots(TuningMethod? m) => m switch
        {
            PromptTuningMethod => [(0, 0, 4)],
            PTuningMethod => [(3, 0, 2)],
            _ => [],
        };
        using var _ = Tape.NoGrad();
        var rows = methods.Select(m => m?.Compute().Row(Slots(m))).ToArray();
        var ids = Enumerable.Range(0, methods.Length).SelectMany(Ids).ToArray();
        var batch = model.Forward(ids, methods.Length, 9, new ForwardOptions { Plan = new PromptPlan(rows) }).ToArray();
        int v = model.Config.VocabSize;
        for (int r = 0; r < methods.Length; r++)
        {
            var alone = model.Forward(Ids(r), 1, 9, new ForwardOptions { Plan = new PromptPlan([rows[r]]) }).ToArray();
            Compare.Close(batch.AsSpan(r * 9 * v, 9 * v).ToArray(), alone, 1e-4, $"{name} row {r} ({methods[r]?.Name ?? "no adapter"})");
        }
        // and the adapters do change their rows
        var plain = model.Forward(Ids(4), 1, 9).ToArray();
        Assert.NotEqual(plain, batch.AsSpan(4 * 9 * v, 9 * v).ToArray());
        // A fine-tuning of every parameter cannot share a batch with other adapters: its parameter deltas are one set for a
        // whole batch (PromptPlan.ParameterDeltas; a RowPlan has none), so a batch whose rows differ in them cannot be built
        // and the method has no row plan to mix in — an error that says to batch them apart.
        var every = FullFineTuningMethod.Create(new FullFineTuningConfig(), model).Compute();
        var e = Assert.Throws<ArgumentException>(() => every.Row([]));
        Assert.Contains("batch such rows apart", e.Message);
    }
}

/// <summary>Petrov et al.'s attention-input prefix during generation: its positions go into the cache with the prompt pass.</summary>
public class AttentionInputPrefixGenerationTests
{
    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void GreedyWithTheCacheEqualsGreedyWithoutAndBatchesEqualRowsAlone(string name)
    {
        var model = MethodGradientTests.Model(name);
        var m = Methods.AttentionInputPrefix.AttentionInputPrefixMethod.Create(3, model, new Rng(6));
        var row = m.Compute().Row([(0, 0, 3)]);
        int[] prompt = [0, 0, 0, 4, 9, 2, 7];
        var cached = Models.Generation.Generator.Generate(model, prompt, new(MaxNewTokens: 8), new PromptPlan([row])).ToList();
        var plain = Models.Generation.Generator.Generate(model, prompt, new(MaxNewTokens: 8, UseCache: false), new PromptPlan([row])).ToList();
        Assert.Equal(plain, cached);
        Assert.NotEqual(cached, Models.Generation.Generator.Generate(model, prompt, new(MaxNewTokens: 8)).ToList());
        int[] shorter = [0, 0, 0, 5];
        var batch = Models.Generation.Generator.GenerateBatch(model, [prompt, shorter], new(MaxNewTokens: 6), plan: new PromptPlan([row, row]));
        Assert.Equal(cached[..6], batch[0]);
        Assert.Equal(Models.Generation.Generator.Generate(model, shorter, new(MaxNewTokens: 6), new PromptPlan([row])).ToList(), batch[1]);
    }
}
