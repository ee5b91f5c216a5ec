namespace SoftPrompt.Tokenizers;

/// <summary>One piece of text on its way to the model: a slice of some string, without copying it.</summary>
/// <param name="AtOriginalStart">True when the piece begins where the input text begins (Metaspace's "first" scheme asks).</param>
internal readonly record struct Piece(string Text, int Start, int Length, bool AtOriginalStart)
{
    public ReadOnlySpan<char> Span => Text.AsSpan(Start, Length);

    public static Piece Whole(string text, bool atOriginalStart) => new(text, 0, text.Length, atOriginalStart);

    /// <summary>A sub-slice; it keeps <see cref="AtOriginalStart"/> only when it starts where this piece starts.</summary>
    public Piece Slice(int start, int length) => new(Text, Start + start, length, AtOriginalStart && start == 0);
}

/// <summary>
/// The pieces a pre-tokenizer chain produces from one segment of normalized text, and whether the
/// byte-level mapping is still owed: when ByteLevel is the chain's last step and the model can take
/// raw text, it is left to the model, which maps bytes straight to ids.
/// </summary>
internal sealed class PreTokenizedString
{
    public List<Piece> Pieces { get; } = [];
    public List<Piece> Scratch { get; } = [];
    public List<(int Start, int Length)> Matches { get; } = [];

    /// <summary>True when the pieces are raw text whose byte-level form the model must take.</summary>
    public bool BytesPending { get; set; }

    public void Reset(Piece text)
    {
        Pieces.Clear();
        BytesPending = false;
        if (text.Length > 0) Pieces.Add(text);
    }

    /// <summary>Replaces every piece by what <paramref name="split"/> makes of it (it appends to the list it is given).</summary>
    public void Split<TState>(TState state, Action<TState, Piece, List<Piece>> split)
    {
        Scratch.Clear();
        foreach (var p in Pieces) split(state, p, Scratch);
        Pieces.Clear();
        foreach (var p in Scratch) if (p.Length > 0) Pieces.Add(p);
    }
}
