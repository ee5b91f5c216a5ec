namespace SoftPrompt.Models.Architectures;

/// <summary>What a parameter besides the linear weights is — optimizers' decay rules tell these apart.</summary>
public enum ParameterKind
{
    /// <summary>A token or position embedding table (a tied head reads the token table too).</summary>
    Embedding,
    /// <summary>A LayerNorm's or RMSNorm's weight or bias.</summary>
    Norm,
    /// <summary>A linear layer's bias.</summary>
    Bias,
    /// <summary>An untied output head [V, D].</summary>
    Head,
}

/// <summary>
/// A parameter of the model besides the linear layers' weights — an embedding table, a norm's weight or bias, a
/// linear layer's bias, an untied head — by its Hugging Face name ("transformer.h.0.ln_1.weight"), shape and kind.
/// Full fine-tuning trains a delta of each (<see cref="Plans.PromptPlan.ParameterDeltas"/>, one set a batch).
/// </summary>
public sealed record ParameterInfo(string Name, IReadOnlyList<int> Shape, ParameterKind Kind)
{
    public ParameterInfo(string name, ParameterKind kind, params int[] shape) : this(name, (IReadOnlyList<int>)shape, kind) { }

    public long Count => Shape.Aggregate(1L, (n, s) => n * s);
}
