using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Tuning.Tests.Training;

/// <summary>
/// BatchLoss runs the model only up to the last position that any row reads an output at (or a soft slot ends):
/// the cut, and the same answer logits as a pass over the whole collated batch.
/// </summary>
public class BatchLossTests
{
    [Fact]
    public void TheBatchIsCutAfterItsLastOutputAndSoftSlot()
    {
        var a = new EncodedExample([0, 0, 11, 12, 21, 22], [new SoftSlot(0, 0, 2)], 4, [21, 22]);
        var b = new EncodedExample([13, 0, 31], [new SoftSlot(1, 0, 1)], 2, [31]);
        var batch = new Collator(padId: 99).Collate([a, b]);
        var (ids, seq, outputs) = BatchLoss.Inputs(batch);
        Assert.Equal(5, seq);   // row 0's last answer token (position 5) is only a target
        Assert.Equal([0, 0, 11, 12, 21, 13, 0, 31, 99, 99], ids);
        Assert.Equal([3, 4, 6], outputs);

        // A soft slot past every output keeps its positions; a batch with no outputs (prompts) is not cut.
        var slotLate = new EncodedExample([5, 6, 7, 8, 9, 0, 0], [new SoftSlot(5, 0, 2)], 7, []);
        Assert.Equal(7, BatchLoss.Inputs(new Collator().Collate([a, slotLate])).Seq);
        var prompt = new EncodedExample([5, 6, 7], [], 3, []);
        var prompts = new Collator().Collate([prompt, prompt]);
        Assert.Same(prompts.Ids, BatchLoss.Inputs(prompts).Ids);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void TheCutBatchGivesTheWholeBatchsAnswerLogits(string name)
    {
        var model = MethodGradientTests.Model(name);
        int d = model.Config.HiddenSize;
        var embeddings = Tensor.ZerosOnHeap(3, d);
        new Rng(4).FillNormal(embeddings.Span, 0f, 0.5f);
        var method = new PromptTuningMethod(new PromptTuningConfig(3), embeddings);
        var rows = new[]
        {
            new EncodedExample([0, 0, 0, 11, 12, 21, 22, 23], [new SoftSlot(0, 0, 3)], 5, [21, 22, 23]),
            new EncodedExample([0, 0, 0, 13, 31], [new SoftSlot(0, 0, 3)], 4, [31]),
            new EncodedExample([0, 0, 0, 14, 15, 16, 33, 34], [new SoftSlot(0, 0, 3)], 6, [33, 34]),
        };
        var batch = new Collator().Collate(rows);
        Assert.Equal(batch.Seq - 1, BatchLoss.Inputs(batch).Seq);

        using var noGrad = Tape.NoGrad();
        var cut = BatchLoss.AnswerLogits(model, method, batch).ToArray();
        var plan = BatchLoss.Plan(method.Compute(), batch, training: false, rng: null);
        var whole = model.Forward(batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { Plan = plan, OutputPositions = batch.OutputPositions }).ToArray();
        Assert.Equal(whole.Length, cut.Length);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - cut[i]) <= 1e-5f, $"{name}: logit {i}: {cut[i]} cut, {whole[i]} whole");
    }
}
