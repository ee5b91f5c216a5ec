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
    /// <summary>Each row's plan: the method's output with the row's soft slots.</summary>
    public static PromptPlan Plan(MethodOutput output, TokenBatch batch, bool training, Rng? rng) =>
        new(batch.SoftSlots.Select(s => (RowPlan?)output.Row(s.Select(x => (x.Position, x.VirtualStart, x.Count)))).ToArray()) { Training = training, Rng = rng };

    // -> logits [N, V] at the batch's answer positions (the head runs nowhere else)
    /// <param name="modelDropout">training mode for the model itself: its config's dropouts, masks from this stream (null: none)</param>
    public static Tensor AnswerLogits(ICausalLanguageModel model, TuningMethod method, TokenBatch batch, bool training = false, Rng? modelDropout = null)
    {
        var plan = Plan(method.Compute(), batch, training, method.StochasticRng);
        // Right padding needs no mask: causal attention never lets a real token see the padding after it.
        // A start every row shares (a template's fixed text, Petrov et al.'s pad positions) is computed once.
        return SharedLeadingTokens.Forward(model, batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { Plan = plan, OutputPositions = batch.OutputPositions, DropoutRng = modelDropout });
    }

    // -> [] mean cross-entropy over the answer tokens
    public static Tensor Compute(ICausalLanguageModel model, TuningMethod method, TokenBatch batch, bool training = false, Rng? modelDropout = null) =>
        F.CrossEntropy(AnswerLogits(model, method, batch, training, modelDropout), batch.Targets, reuseLogitsForGrad: training);
}
