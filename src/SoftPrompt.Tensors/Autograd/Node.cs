namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// One recorded op on the tape: it knows its inputs and output and adds the gradient of its
/// output into its inputs' gradients. Each op's node lives next to its forward in <c>Ops/</c>.
/// </summary>
public abstract class Node
{
    /// <summary>The op's (primary) output.</summary>
    public Tensor Output { get; internal set; } = null!;

    /// <summary>Whether any gradient reached this node's outputs; multi-output ops override.</summary>
    protected internal virtual bool ReceivedGrad => Output.Grad is not null;

    /// <summary>Accumulates into the inputs' gradients (only inputs with RequiresGrad).</summary>
    protected internal abstract void Backward();
}
