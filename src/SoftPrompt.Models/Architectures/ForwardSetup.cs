using SoftPrompt.Models.Plans;

namespace SoftPrompt.Models.Architectures;

/// <summary>What every architecture's forward pass starts from: the bound plan, the position ids and the attention mask.</summary>
sealed record ForwardSetup(PlanBinding Plan, int[] Positions, int[]? Mask, int Past)
{
    public static ForwardSetup Prepare(ICausalLanguageModel model, int idCount, int batch, int seq, ForwardOptions options)
    {
        if (idCount != batch * seq) throw new ArgumentException($"Forward: {idCount} ids for batch {batch} × sequence {seq}.");
        int past = options.Cache?.Length ?? 0;
        var plan = PlanBinding.Bind(model, options.Plan, batch, seq, options.Cache);
        var positions = plan.Positions(seq, past, options.AttentionMask);
        return new ForwardSetup(plan, positions, plan.AttentionMask(options.AttentionMask, past + seq), past);
    }
}
