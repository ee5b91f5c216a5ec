using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Cli;

/// <summary>The errors a command reports as one line on stderr (exit code 1) instead of a stack trace.</summary>
internal static class CliErrors
{
    public static bool IsUserError(Exception e) => e is IOException or UnauthorizedAccessException or ModelConfigException or SafetensorsException
        or TokenizerFormatException or AdapterFormatException or DataFormatException or TemplateException or ShapeMismatchException
        or ArgumentException or InvalidDataException;

    /// <summary>Runs a command body; a user error becomes "error: message" and exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
