namespace SoftPrompt.Tuning.Data;

/// <summary>
/// A rendered example: Ids = the prompt's ids (soft-token positions hold <see cref="SoftPlaceholderId"/>)
/// followed by AnswerIds; the answer starts at AnswerStart (= the prompt length). A prompt rendered
/// for generation or scoring has no answer: AnswerIds is empty and AnswerStart = Ids.Length.
/// </summary>
public sealed record EncodedExample(int[] Ids, IReadOnlyList<SoftSlot> SoftSlots, int AnswerStart, int[] AnswerIds)
{
    /// <summary>The id at soft-token positions; the model never embeds it (the soft tokens replace it).</summary>
    public const int SoftPlaceholderId = 0;

    /// <summary>The prompt's ids (everything before the answer).</summary>
    public ReadOnlySpan<int> PromptIds => Ids.AsSpan(0, AnswerStart);

    /// <summary>Virtual tokens the example uses (the template's soft-token count).</summary>
    public int SoftTokenCount => SoftSlots.Sum(s => s.Count);
}
