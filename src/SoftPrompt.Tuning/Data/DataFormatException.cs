namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Bad task data: a file that cannot be read as a dataset, or an example the template, verbalizer
/// or collator cannot use. The message always starts with "file:line:" (or the field's source) so
/// the bad record can be found without a debugger.
/// </summary>
public sealed class DataFormatException(string message) : Exception(message)
{
    internal static DataFormatException At(string source, int line, string what) => new($"{source}:{line}: {what}");
}
