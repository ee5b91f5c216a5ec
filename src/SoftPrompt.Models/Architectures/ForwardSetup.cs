using SoftPrompt.Models.Plans;

namespace SoftPrompt.Models.Architectures;

/// <summary>What every architecture's forward pass starts from: the position ids and the attention mask, from the plan bound by its caller.</summary>
sealed record ForwardSetup(int[] Positions, int[]? Mask, int Past)
{
    public static ForwardSetup Prepare(ICausalLanguageModel model, PlanBinding plan, int idCount, int batch, int seq, ForwardOptions options)
    {
        if (idCount != batch * seq) throw new ArgumentException($"Forward: {idCount} ids for batch {batch} × sequence {seq}.");
        plan.CheckBoundTo(model, options, batch);
        int past = options.Cache?.Length ?? 0;
        var positions = plan.Positions(seq, past, options.AttentionMask);
        return new ForwardSetup(positions, plan.AttentionMask(options.AttentionMask, past + seq), past);
    }
}
