namespace SoftPrompt.Tokenizers.Models;

/// <summary>Turns pre-tokenized pieces into ids and knows the vocabulary.</summary>
internal interface ITokenizerModel
{
    /// <summary>Appends the ids of every piece of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    void Encode(PreTokenizedString text, List<int> ids);

    int? TokenToId(string token);
    string? IdToToken(int id);

    /// <summary>One past the largest id of the model's own vocabulary.</summary>
    int VocabSize { get; }

    /// <summary>"BPE", "WordPiece", "Unigram", "WordLevel".</summary>
    string Name { get; }
}
