using System.Runtime.InteropServices;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Tests;

/// <summary>
/// Forward passes with prompt plans against plan.safetensors (tools/make_model_fixtures.py): a batch
/// whose rows carry soft tokens, prefixes of different lengths, shared and unshared LoRA deltas, or
/// nothing, each row's reference computed alone in float64 the way PEFT applies the method — logits
/// and the gradients of every plan tensor — and the input-embedding gradient of the plain forward.
/// </summary>
public class PromptPlanTests
{
    public static TheoryData<string> Models => new() { "gpt2-tiny", "gpt2-tiny-noprefix", "gpt2-tiny-petrov", "llama-tiny-gqa", "qwen2-tiny" };

    internal static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    internal static ICausalLanguageModel Load(string name) => name.StartsWith("gpt2") ? Gpt2Model.Load(Dir(name)) : LlamaModel.Load(Dir(name));

    /// <summary>The fixture's batch: ids, the plan's leaf tensors (requiring grad) and the plan.</summary>
    internal sealed class PlanFixture : IDisposable
    {
        public readonly SafetensorsFile File;
        public readonly int[] Ids;
        public readonly int Batch, Seq;
        public readonly Dictionary<string, Tensor> Leaves = [];
        public readonly PromptPlan Plan;

        public PlanFixture(ICausalLanguageModel model, string name)
        {
            File = SafetensorsFile.Open(Path.Combine(Dir(name), "plan.safetensors"));
            Ids = MemoryMarshal.Cast<byte, int>(File.Bytes("ids")).ToArray();
            (Batch, Seq) = (File.Entry("ids").Shape[0], File.Entry("ids").Shape[1]);
            foreach (var key in File.Entries.Keys.Where(k => k.StartsWith("soft") || k.StartsWith("lora") || k.StartsWith("prefix")))
            {
                var t = File.LoadTensor(key);
                t.RequiresGrad = true;
                Leaves[key] = t;
            }
            int layers = model.Config.Layers;
            KvPrefix Prefix(int row) => new([.. Enumerable.Range(0, layers).Select(l => Leaves[$"prefix{row}_k{l}"])],
                                            [.. Enumerable.Range(0, layers).Select(l => Leaves[$"prefix{row}_v{l}"])]);
            var lora0 = new LowRankDelta(ModuleName(model, File.Metadata["lora0"]), Leaves["lora0_a"], Leaves["lora0_b"], 2f);
            var lora1 = new LowRankDelta(ModuleName(model, File.Metadata["lora1"]), Leaves["lora1_a"], Leaves["lora1_b"], 0.5f);
            Plan = new PromptPlan([
                new RowPlan { SoftTokens = [new(0, Leaves["soft0"])], Deltas = [lora0, lora1] },
                new RowPlan { Prefix = Prefix(1) },
                new RowPlan { SoftTokens = [new(4, Leaves["soft2"])], Prefix = Prefix(2), Deltas = [lora0] },
                null]);
        }

        /// <summary>The fixture names GPT-2 modules from the block ("h.0.attn.c_attn"); PEFT's path adds "transformer.".</summary>
        static string ModuleName(ICausalLanguageModel model, string name) => model is Gpt2Model ? "transformer." + name : name;

        public Tensor R => File.LoadTensor("R");

        public void Dispose() => File.Dispose();
    }

    [Theory, MemberData(nameof(Models))]
    public void MixedPlansMatchEachRowAloneInTheReference(string name)
    {
        var model = Load(name);
        using var fx = new PlanFixture(model, name);
        Tape.Clear();
        var logits = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = fx.Plan });
        Compare.Close(logits.ToArray(), fx.File.LoadTensor("logits").ToArray(), 1e-4, $"{name} logits");
        F.Sum(F.Mul(logits, fx.R)).Backward();
        foreach (var (key, leaf) in fx.Leaves)
        {
            Assert.True(leaf.Grad is not null, $"{name}: {key} got no gradient");
            // 5e-4: a gradient entry far below the tensor's largest loses relative precision to cancellation in float32
            // (the AVX2 kernels' summation order gives 1.8e-4 on an entry of 0.54 whose tensor reaches 25: 7e-6 of its scale).
            Compare.Close(leaf.Grad!.ToArray(), fx.File.LoadTensor("grad_" + key).ToArray(), 5e-4, $"{name} ∂L/∂{key}");
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void InputEmbeddingGradientMatchesTheReference(string name)
    {
        // Splicing every position with a leaf equal to the token embeddings gives ∂L/∂inputs_embeds.
        var model = Load(name);
        using var fx = new PlanFixture(model, name);
        var embeds = Embeddings(model, fx.Ids, fx.Batch, fx.Seq);
        var rows = embeds.Select(e => new RowPlan { SoftTokens = [new(0, e)] }).ToArray();
        Tape.Clear();
        var logits = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = new PromptPlan(rows) });
        Compare.Close(logits.ToArray(), fx.File.LoadTensor("plain_logits").ToArray(), 1e-4, $"{name} plain logits");
        F.Sum(F.Mul(logits, fx.R)).Backward();
        var grad = embeds.SelectMany(e => e.Grad!.ToArray()).ToArray();
        Compare.Close(grad, fx.File.LoadTensor("grad_embeds").ToArray(), 1e-4, $"{name} ∂L/∂inputs_embeds");
    }

    /// <summary>Each row's token embeddings [T, D], as leaves.</summary>
    internal static Tensor[] Embeddings(ICausalLanguageModel model, int[] ids, int batch, int seq)
    {
        return Enumerable.Range(0, batch).Select(b =>
        {
            var e = model.EmbedTokens(ids.AsSpan(b * seq, seq));
            e.RequiresGrad = true;
            return e;
        }).ToArray();
    }

    [Theory, MemberData(nameof(Models))]
    public void ARowWithAPlanGivesWhatItGivesAlone(string name)
    {
        var model = Load(name);
        using var fx = new PlanFixture(model, name);
        using var _ = Tape.NoGrad();
        var all = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = fx.Plan }).ToArray();
        int v = model.Config.VocabSize;
        for (int b = 0; b < fx.Batch; b++)
        {
            var alone = model.Forward(fx.Ids.AsSpan(b * fx.Seq, fx.Seq), 1, fx.Seq, new ForwardOptions { Plan = new PromptPlan([fx.Plan[b]]) }).ToArray();
            var row = all.AsSpan(b * fx.Seq * v, fx.Seq * v).ToArray();
            Compare.Close(row, alone, 1e-4, $"{name} row {b} in the batch vs alone");   // float rounding only: GEMM blocking differs with the batch size
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void OutputPositionsSelectRowsOfTheFullLogits(string name)
    {
        var model = Load(name);
        using var fx = new PlanFixture(model, name);
        using var _ = Tape.NoGrad();
        int v = model.Config.VocabSize;
        var full = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = fx.Plan }).ToArray();
        // The last block runs on the suffix from the first wanted position: scattered positions (suffix from 3)
        // and the last three of every row (a training batch's answer tokens) give the full pass's rows.
        int[][] sets = [[3, 7, 8, 30, 31], [.. Enumerable.Range(0, fx.Batch).SelectMany(b => new[] { b * fx.Seq + fx.Seq - 3, b * fx.Seq + fx.Seq - 1, b * fx.Seq + fx.Seq - 2 })]];
        foreach (var positions in sets)
        {
            var some = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = fx.Plan, OutputPositions = positions });
            Assert.Equal([positions.Length, v], some.Shape.ToArray());
            var expected = positions.SelectMany(p => full.AsSpan(p * v, v).ToArray()).ToArray();
            // float rounding only: up to Sgemm.FewRows selected rows run as matrix-vector products, whose sums go in another order than the GEMM's
            Compare.Close(some.ToArray(), expected, 1e-4, $"{name} selected positions {string.Join(",", positions)}");
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void AnAttentionInputPrefixMatchesTheReference(string name)
    {
        // Petrov et al.'s prefix over every row's first 3 positions at each block's attention input; the slots keep
        // their positions (the text after them starts at 3), as in the authors' minGPT. Logits and ∂L/∂prefix.
        var model = Load(name);
        using var fx = new PlanFixture(model, name);
        var prefix = Enumerable.Range(0, model.Config.Layers).Select(l => { var t = fx.File.LoadTensor($"attnin{l}"); t.RequiresGrad = true; return t; }).ToArray();
        Tape.Clear();
        var logits = model.Forward(fx.Ids, fx.Batch, fx.Seq, new ForwardOptions { Plan = PromptPlan.Uniform(fx.Batch, new RowPlan { AttentionInputPrefix = new AttentionInputPrefix(prefix) }) });
        Compare.Close(logits.ToArray(), fx.File.LoadTensor("attn_logits").ToArray(), 1e-4, $"{name} attention-input prefix logits");
        F.Sum(F.Mul(logits, fx.R)).Backward();
        for (int l = 0; l < prefix.Length; l++)
            Compare.Close(prefix[l].Grad!.ToArray(), fx.File.LoadTensor($"grad_attnin{l}").ToArray(), 5e-4, $"{name} ∂L/∂prefix, layer {l}");
    }

    [Theory]
    [InlineData("gpt2-tiny-petrov")]
    [InlineData("llama-tiny-gqa")]
    public void AnAttentionInputPrefixWithWantedOutputsGivesTheFullPassRowsAndGradients(string name)
    {
        // Every row's first 3 positions are replaced at each block's input: with wanted outputs the blocks skip
        // them (and the last block everything before the first wanted output). Logits and the prefix's gradients
        // must be the full pass's.
        var model = Load(name);
        int layers = model.Config.Layers, d = model.Config.HiddenSize, batch = 2, seq = 9, p = 3, v = model.Config.VocabSize;
        var rng = new Rng(4);
        var prefix = Enumerable.Range(0, layers).Select(_ => { var t = Tensor.Zeros(p, d); rng.FillNormal(t.Span, 0f, 1f); t.RequiresGrad = true; return t; }).ToArray();
        var plan = PromptPlan.Uniform(batch, new RowPlan { AttentionInputPrefix = new AttentionInputPrefix(prefix) });
        int[] ids = [.. Enumerable.Range(0, batch * seq).Select(i => 1 + i * 7 % (v - 1))];
        int[] wanted = [.. Enumerable.Range(0, batch).SelectMany(b => Enumerable.Range(seq - 4, 4).Select(t => b * seq + t))];
        var weights = Tensor.Zeros(wanted.Length, v);
        rng.FillNormal(weights.Span, 0f, 1f);

        float[][] Gradients(Tensor loss)
        {
            foreach (var t in prefix) t.Grad = null;
            loss.Backward();
            return [.. prefix.Select(t => t.Grad!.ToArray())];
        }
        var full = model.Forward(ids, batch, seq, new ForwardOptions { Plan = plan });                      // [B, T, V]
        var fullRows = F.IndexSelect(F.Reshape(full, batch * seq, v), wanted);
        var fullLogits = fullRows.ToArray();
        var fullGrads = Gradients(F.Sum(F.Mul(fullRows, weights)));
        var some = model.Forward(ids, batch, seq, new ForwardOptions { Plan = plan, OutputPositions = wanted });   // [N, V]
        // float rounding only: the 8 wanted rows run as matrix-vector products (Sgemm.FewRows), summed in another order than the GEMM's
        Compare.Close(some.ToArray(), fullLogits, 1e-4, $"{name} wanted rows");
        var someGrads = Gradients(F.Sum(F.Mul(some, weights)));
        for (int l = 0; l < layers; l++) Compare.Close(someGrads[l], fullGrads[l], 1e-4, $"{name} prefix gradient, layer {l}");
        Assert.Contains(fullGrads[0], g => g != 0f);
    }

    [Fact]
    public void PlansThatDoNotFitTheModelAreNamedErrors()
    {
        var model = Load("llama-tiny-gqa");
        int[] ids = [1, 2, 3];
        Tensor Zeros(params int[] s) => Tensor.Zeros(s);
        Exception Run(RowPlan row) => Record.Exception(() => model.Forward(ids, 1, 3, new ForwardOptions { Plan = new PromptPlan([row]) }))!;

        var e = Run(new RowPlan { Deltas = [new("model.layers.0.attn.q_proj", Zeros(2, 32), Zeros(32, 2), 1f)] });
        Assert.Contains("'model.layers.0.attn.q_proj'", e.Message);
        e = Run(new RowPlan { Deltas = [new("model.layers.0.self_attn.k_proj", Zeros(2, 32), Zeros(32, 2), 1f)] });
        Assert.IsType<ShapeMismatchException>(e);
        Assert.Contains("B [16, r]", e.Message);
        e = Run(new RowPlan { Prefix = new KvPrefix([Zeros(2, 32), Zeros(2, 32)], [Zeros(2, 32), Zeros(2, 32)]) });
        Assert.Contains("2 heads × 8 = 16", e.Message);
        e = Run(new RowPlan { Prefix = new KvPrefix([Zeros(2, 16)], [Zeros(2, 16)]) });
        Assert.Contains("1 layers; the model has 2", e.Message);
        e = Run(new RowPlan { SoftTokens = [new(2, Zeros(2, 32))] });
        Assert.Contains("do not fit", e.Message);
        e = Record.Exception(() => model.Forward(ids, 1, 3, new ForwardOptions { Plan = new PromptPlan([null, null]) }))!;
        Assert.Contains("2 rows but the batch has 1", e.Message);
    }
}
