namespace SoftPrompt.Models.Architectures;

/// <summary>
/// A parameter of the model besides the linear layers' weights — an embedding table, a norm's weight or bias, a
/// linear layer's bias, an untied head — by its Hugging Face name ("transformer.h.0.ln_1.weight") and shape.
/// Full fine-tuning trains a delta of each (<see cref="Plans.RowPlan.ParameterDeltas"/>).
/// </summary>
public sealed record ParameterInfo(string Name, IReadOnlyList<int> Shape)
{
    public ParameterInfo(string name, params int[] shape) : this(name, (IReadOnlyList<int>)shape) { }

    public long Count => Shape.Aggregate(1L, (n, s) => n * s);
}
