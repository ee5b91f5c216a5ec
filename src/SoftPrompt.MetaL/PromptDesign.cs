namespace SoftPrompt.MetaL;

/// <summary>What the prompt generation model's pass over [X_P ; pads] gives at the M pad positions (the seed's four designs).</summary>
public enum PromptDesign
{
    /// <summary>The PGM's most likely next tokens: real token ids, printable, usable as text by a black-box LM (trained through straight-through Gumbel-softmax).</summary>
    Discrete,
    /// <summary>The PGM's next-token probabilities times the target LM's input embeddings: M soft tokens.</summary>
    WeightedSum,
    /// <summary>The PGM's final hidden states (the LM head's input): M soft tokens.</summary>
    HiddenState,
    /// <summary>Every layer's keys and values at the pad positions: the target LM's per-layer prefix of length M.</summary>
    Prefix,
}

/// <summary>The designs' names on the command line and in files.</summary>
public static class PromptDesigns
{
    public static readonly IReadOnlyList<PromptDesign> All = Enum.GetValues<PromptDesign>();

    public static string Name(PromptDesign design) => design switch
    {
        PromptDesign.Discrete => "discrete",
        PromptDesign.WeightedSum => "weighted-sum",
        PromptDesign.HiddenState => "hidden-state",
        PromptDesign.Prefix => "prefix",
        _ => throw new ArgumentOutOfRangeException(nameof(design)),
    };

    public static PromptDesign Parse(string name) =>
        All.FirstOrDefault(d => Name(d) == name.ToLowerInvariant(), (PromptDesign)(-1)) is var d && d >= 0 ? d
        : throw new ArgumentException($"design '{name}': one of {string.Join(", ", All.Select(Name))}.");
}
