using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Tests;

/// <summary>
/// Computing a start every row shares once (SharedLeadingTokens) against the ordinary forward pass of the
/// whole batch (itself checked against PyTorch in PromptPlanTests): the same logits and the same gradient
/// for every plan tensor, with each kind of plan, on GPT-2 and Llama-family models; and the length it
/// shares, which stops where the rows or their plans differ. In training mode (model dropout) only the
/// positions an attention-input prefix replaces are shared, and the rest of the batch draws the very
/// masks an ordinary pass draws there.
/// </summary>
public class SharedLeadingTokensTests
{
    const int Batch = 3, Seq = 10, Shared = 6;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "gpt2-tiny", "gpt2-tiny-petrov", "llama-tiny-gqa" })
            foreach (var plan in new[] { "none", "lora", "kv prefix and lora", "soft tokens", "attention-input prefix" })
                data.Add(model, plan);
        return data;
    }

    static Tensor Leaf(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillNormal(t.Span, 0f, 0.5f);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Ids whose first <paramref name="shared"/> positions are the same in every row; the rest differ.</summary>
    static int[] Ids(ICausalLanguageModel model, int shared)
    {
        var rng = new Rng(3);
        var ids = new int[Batch * Seq];
        for (int b = 0; b < Batch; b++)
            for (int t = 0; t < Seq; t++)
                ids[b * Seq + t] = t < shared ? 1 + t : (int)((7 * t + 13 * b + rng.NextInt(3)) % model.Config.VocabSize);
        for (int b = 1; b < Batch; b++) ids[b * Seq + shared] = (ids[shared] + b) % model.Config.VocabSize;   // rows part at `shared`
        return ids;
    }

    static (PromptPlan? Plan, List<Tensor> Leaves) Plan(ICausalLanguageModel model, string kind)
    {
        var c = model.Config;
        var rng = new Rng(11);
        var leaves = new List<Tensor>();
        Tensor L(params int[] shape) { var t = Leaf(rng, shape); leaves.Add(t); return t; }
        LowRankDelta[] Lora() => [.. new[] { model.LinearLayers[1], model.LinearLayers[^1] }.Select(l => new LowRankDelta(l.Name, L(2, l.InFeatures), L(l.OutFeatures, 2), 0.5f))];
        RowPlan? row = kind switch
        {
            "none" => null,
            "lora" => new RowPlan { Deltas = Lora() },
            "kv prefix and lora" => new RowPlan
            {
                Prefix = new KvPrefix([.. Enumerable.Range(0, c.Layers).Select(_ => L(3, c.KvHeads * c.HeadDim))], [.. Enumerable.Range(0, c.Layers).Select(_ => L(3, c.KvHeads * c.HeadDim))]),
                Deltas = Lora(),
            },
            "soft tokens" => new RowPlan { SoftTokens = [new SoftTokens(0, L(4, c.HiddenSize))] },
            "attention-input prefix" => new RowPlan { AttentionInputPrefix = new AttentionInputPrefix([.. Enumerable.Range(0, c.Layers).Select(_ => L(3, c.HiddenSize))]) },
            _ => throw new ArgumentException(kind),
        };
        return (row is null ? null : PromptPlan.Uniform(Batch, row), leaves);
    }

    /// <summary>The logits of a forward pass and each leaf's gradient of Σ logits ⊙ R (R fixed: N(0, 1) from seed 5).</summary>
    static (float[] Logits, float[][] Grads) LogitsAndGradients(ICausalLanguageModel model, List<Tensor> leaves, Func<Tensor> forward)
    {
        var r = Tensor.Zeros(Outputs().Length, model.Config.VocabSize);
        new Rng(5).FillNormal(r.Span, 0f, 1f);
        Tape.Clear();
        foreach (var l in leaves) l.ZeroGrad();
        var logits = forward();
        if (leaves.Count > 0) F.Sum(F.Mul(logits, r)).Backward();
        return (logits.ToArray(), [.. leaves.Select(l => l.Grad!.ToArray())]);
    }

    static int[] Outputs() => [.. Enumerable.Range(0, Batch).SelectMany(b => new[] { b * Seq + Shared + 1, b * Seq + Seq - 1 })];

    [Theory, MemberData(nameof(Cases))]
    public void SharingTheStartGivesTheWholeBatchsLogitsAndGradients(string name, string kind)
    {
        var model = PromptPlanTests.Load(name);
        var ids = Ids(model, Shared);
        var (plan, leaves) = Plan(model, kind);
        var options = new ForwardOptions { Plan = plan, OutputPositions = Outputs() };
        Assert.Equal(Shared, SharedLeadingTokens.Length(ids, Batch, Seq, options));

        (float[] Logits, float[][] Grads) Run(Func<Tensor> forward) => LogitsAndGradients(model, leaves, forward);
        var whole = Run(() => model.Forward(ids, Batch, Seq, options));
        var shared = Run(() => SharedLeadingTokens.Forward(model, ids, Batch, Seq, options));
        Compare.Close(shared.Logits, whole.Logits, 1e-4, $"{name}, {kind}: logits");   // float rounding: the shared rows sum their gradient and scores in another order
        for (int i = 0; i < leaves.Count; i++)
            Compare.Close(shared.Grads[i], whole.Grads[i], 5e-4, $"{name}, {kind}: gradient of plan tensor {i}");
    }

    /// <summary>
    /// With attention and residual dropout at 0.5 (embedding dropout 0: the one mask whose element numbering the
    /// shared pass changes), the shared pass draws the same masks in the same order as the ordinary pass, so the
    /// logits and gradients agree to rounding — and would not if the shared positions drew masks of their own.
    /// </summary>
    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("gpt2-tiny-petrov")]
    [InlineData("llama-tiny-gqa")]
    public void UnderDropoutTheStartAnAttentionInputPrefixReplacesIsShared(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"softprompt-dropout-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(PromptPlanTests.Dir(name))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            if (name.StartsWith("gpt2")) { config["embd_pdrop"] = 0.0; config["attn_pdrop"] = 0.5; config["resid_pdrop"] = 0.5; }
            else config["attention_dropout"] = 0.5;
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            ICausalLanguageModel model = name.StartsWith("gpt2") ? Gpt2Model.Load(dir) : LlamaModel.Load(dir);

            var ids = Ids(model, Shared);
            var (plan, leaves) = Plan(model, "attention-input prefix");
            ForwardOptions Options(int seed) => new() { Plan = plan, OutputPositions = Outputs(), DropoutRng = new Rng((ulong)seed) };
            Assert.Equal(3, SharedLeadingTokens.Length(ids, Batch, Seq, Options(7)));   // the prefix's 3 positions, not the 6 shared ids

            (float[] Logits, float[][] Grads) Run(Func<Tensor> forward) => LogitsAndGradients(model, leaves, forward);
            var whole = Run(() => model.Forward(ids, Batch, Seq, Options(7)));
            var shared = Run(() => SharedLeadingTokens.Forward(model, ids, Batch, Seq, Options(7)));
            var plain = Run(() => model.Forward(ids, Batch, Seq, Options(8)));
            Assert.True(plain.Logits.Zip(whole.Logits).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, $"{name}: dropout should change the logits");
            Compare.Close(shared.Logits, whole.Logits, 1e-4, $"{name}: logits under dropout");
            for (int i = 0; i < leaves.Count; i++)
                Compare.Close(shared.Grads[i], whole.Grads[i], 5e-4, $"{name}: gradient of prefix layer {i} under dropout");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TheSharedStartEndsWhereRowsOrTheirPlansDiffer()
    {
        var model = PromptPlanTests.Load("gpt2-tiny");
        var c = model.Config;
        var ids = Ids(model, Shared);
        var outputs = Outputs();
        int Length(PromptPlan? plan, int[]? outputPositions = null, Rng? dropout = null) =>
            SharedLeadingTokens.Length(ids, Batch, Seq, new ForwardOptions { Plan = plan, OutputPositions = outputPositions ?? outputs, DropoutRng = dropout });
        var rng = new Rng(1);
        var soft = Leaf(rng, 4, c.HiddenSize);

        Assert.Equal(Shared, Length(null));
        Assert.Equal(3, Length(null, [.. outputs, 3]));   // an output wanted at position 3 of row 0
        Assert.Equal(0, Length(null, dropout: new Rng(1)));   // training-mode dropout: rows differ
        Assert.Equal(0, SharedLeadingTokens.Length(ids, Batch, Seq, new ForwardOptions()));   // every output wanted
        // Under dropout, only what an attention-input prefix at position 0 replaces in every row.
        var prefix = new AttentionInputPrefix([.. Enumerable.Range(0, c.Layers).Select(_ => Leaf(rng, 3, c.HiddenSize))]);
        Assert.Equal(Shared, Length(PromptPlan.Uniform(Batch, new RowPlan { AttentionInputPrefix = prefix })));
        Assert.Equal(3, Length(PromptPlan.Uniform(Batch, new RowPlan { AttentionInputPrefix = prefix }), dropout: new Rng(1)));
        Assert.Equal(0, Length(PromptPlan.Uniform(Batch, new RowPlan { AttentionInputPrefix = prefix.At(1) }), dropout: new Rng(1)));
        Assert.Equal(0, Length(new PromptPlan([new RowPlan { AttentionInputPrefix = prefix }, new RowPlan { AttentionInputPrefix = prefix }, null]), dropout: new Rng(1)));

        // Virtual tokens that cross the end of the shared ids, or are other tensors in other rows, stop it at their position.
        Assert.Equal(4, Length(PromptPlan.Uniform(Batch, new RowPlan { SoftTokens = [new SoftTokens(4, soft)] })));
        Assert.Equal(1, Length(new PromptPlan([.. Enumerable.Range(0, Batch).Select(_ => (RowPlan?)new RowPlan { SoftTokens = [new SoftTokens(1, F.Slice(soft, 0, 0, 2))] })])));
        Assert.Equal(2, Length(new PromptPlan([new RowPlan { SoftTokens = [new SoftTokens(2, soft)] }, null, null])));
        // Different deltas or prefixes per row, or LoRA dropout while training: nothing is shared.
        var lora = new LowRankDelta(model.LinearLayers[0].Name, Leaf(rng, 2, c.HiddenSize), Leaf(rng, model.LinearLayers[0].OutFeatures, 2), 1f, Dropout: 0.1f);
        Assert.Equal(0, Length(new PromptPlan([new RowPlan { Deltas = [lora] }, null, null])));
        Assert.Equal(Shared, Length(PromptPlan.Uniform(Batch, new RowPlan { Deltas = [lora] })));
        Assert.Equal(0, Length(new PromptPlan([.. Enumerable.Repeat<RowPlan?>(new RowPlan { Deltas = [lora] }, Batch)]) { Training = true, Rng = new Rng(2) }));
    }
}
