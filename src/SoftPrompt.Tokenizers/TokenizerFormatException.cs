namespace SoftPrompt.Tokenizers;

/// <summary>A tokenizer file that cannot be used: names the file and the JSON path of the bad value (e.g. <c>model.merges[12]</c>).</summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException(string file, string? jsonPath, string message, Exception? inner = null)
        : base(jsonPath is null ? $"{file}: {message}" : $"{file}: {jsonPath}: {message}", inner)
    {
        File = file;
        JsonPath = jsonPath;
    }

    /// <summary>The file that was being read.</summary>
    public string File { get; }

    /// <summary>Where in the file the problem is, or null when it concerns the whole file.</summary>
    public string? JsonPath { get; }
}
