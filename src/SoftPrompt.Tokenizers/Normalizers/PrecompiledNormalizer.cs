namespace SoftPrompt.Tokenizers.Normalizers;

/// <summary>
/// <c>Precompiled</c> (a sentencepiece normalization charsmap) is not implemented yet: loading a file that
/// uses it fails with a clear error rather than encoding differently from Hugging Face.
/// </summary>
internal static class PrecompiledNormalizer
{
    public static INormalizer FromJson(TokenizerJson json) =>
        throw json.Get("type").Error("the Precompiled (sentencepiece charsmap) normalizer is not supported yet");
}
