using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Training;

/// <summary>One forward pass of a batch through the frozen model with the method's plan.</summary>
public static class BatchLoss
{
    /// <summary>The batch's plan: each row's, the method's output with the row's soft slots, and the method's parameter deltas for all.</summary>
    public static PromptPlan Plan(MethodOutput output, TokenBatch batch, bool training, Rng? rng) =>
        output.Plan(batch.SoftSlots.Select(s => s.Select(x => (x.Position, x.VirtualStart, x.Count))), training, rng);

    // -> logits [N, V] at the batch's answer positions (the head runs nowhere else)
    /// <param name="modelDropout">training mode for the model itself: its config's dropouts, masks from this stream (null: none)</param>
    public static Tensor AnswerLogits(ICausalLanguageModel model, TuningMethod method, TokenBatch batch, bool training = false, Rng? modelDropout = null) =>
        AnswerLogits(model, method.Compute(), batch, training, method.StochasticRng, modelDropout);

    // -> logits [N, V] at the answer positions, for plan pieces computed elsewhere (a generated prompt)
    public static Tensor AnswerLogits(ICausalLanguageModel model, MethodOutput output, TokenBatch batch, bool training, Rng? methodRng, Rng? modelDropout = null)
    {
        var plan = Plan(output, batch, training, methodRng);
        var (ids, seq, outputs) = Inputs(batch);
        // Right padding needs no mask: causal attention never lets a real token see the padding after it.
        // A start every row shares (a template's fixed text, Petrov et al.'s pad positions) is computed once.
        return SharedLeadingTokens.Forward(model, ids, batch.Batch, seq, new ForwardOptions { Plan = plan, OutputPositions = outputs, DropoutRng = modelDropout });
    }

    /// <summary>
    /// The batch cut after the last position any row reads an output at (or any soft slot ends): a causal model's
    /// outputs there do not depend on what follows. Every row's last answer token is a target and never an input,
    /// so a batch of whole examples loses at least that column. The ids [B, Seq'] and the output positions
    /// renumbered b·Seq' + t; the batch's own arrays when nothing is cut.
    /// </summary>
    public static (int[] Ids, int Seq, int[] OutputPositions) Inputs(TokenBatch batch)
    {
        int seq = batch.Seq, needed = 0;
        foreach (int p in batch.OutputPositions) needed = Math.Max(needed, p % seq + 1);
        foreach (var slots in batch.SoftSlots)
            foreach (var s in slots) needed = Math.Max(needed, s.Position + s.Count);
        if (batch.OutputPositions.Length == 0 || needed >= seq) return (batch.Ids, seq, batch.OutputPositions);
        var ids = new int[batch.Batch * needed];
        for (int b = 0; b < batch.Batch; b++) batch.Ids.AsSpan(b * seq, needed).CopyTo(ids.AsSpan(b * needed));
        var outputs = new int[batch.OutputPositions.Length];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = batch.OutputPositions[i] / seq * needed + batch.OutputPositions[i] % seq;
        return (ids, needed, outputs);
    }

    // -> [] mean cross-entropy over the answer tokens
    public static Tensor Compute(ICausalLanguageModel model, TuningMethod method, TokenBatch batch, bool training = false, Rng? modelDropout = null) =>
        F.CrossEntropy(AnswerLogits(model, method, batch, training, modelDropout), batch.Targets, reuseLogitsForGrad: training);
}
