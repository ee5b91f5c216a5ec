namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>Cuts normalized text into the pieces the model tokenizes one at a time.</summary>
internal interface IPreTokenizer
{
    void PreTokenize(PreTokenizedString text);

    /// <summary>A short name for <see cref="Tokenizer.Description"/>.</summary>
    string Name { get; }
}

/// <summary><c>Sequence</c>: each pre-tokenizer in turn on the pieces of the previous one.</summary>
internal sealed class SequencePreTokenizer(IPreTokenizer[] steps) : IPreTokenizer
{
    public IReadOnlyList<IPreTokenizer> Steps => steps;

    public void PreTokenize(PreTokenizedString text)
    {
        foreach (var s in steps) s.PreTokenize(text);
    }

    public string Name => string.Join(" + ", steps.Select(s => s.Name));
}
