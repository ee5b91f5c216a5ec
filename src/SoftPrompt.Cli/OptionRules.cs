using System.CommandLine;
using System.CommandLine.Parsing;

namespace SoftPrompt.Cli;

/// <summary>Checks that run while the command line is parsed, so a bad value is a one-line error naming the option before any work starts.</summary>
internal static class OptionRules
{
    /// <summary>The option names a directory to create or reuse: a path that is an existing file is rejected.</summary>
    public static Option<string> MustBeDirectoryPath(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValue(option) is { } path && File.Exists(path))
                result.AddError($"{option.Name} '{path}' is a file; give a directory (it is created when missing).");
        });
        return option;
    }

    /// <summary>The option's value must be at least <paramref name="min"/>.</summary>
    public static Option<int> MustBeAtLeast(this Option<int> option, int min)
    {
        option.Validators.Add(result => CheckAtLeast(result, option.Name, result.GetValue(option), min));
        return option;
    }

    /// <summary>The option, when given, must be at least <paramref name="min"/>.</summary>
    public static Option<int?> MustBeAtLeast(this Option<int?> option, int min)
    {
        option.Validators.Add(result => CheckAtLeast(result, option.Name, result.GetValue(option), min));
        return option;
    }

    static void CheckAtLeast(OptionResult result, string name, int? value, int min)
    {
        if (value < min) result.AddError($"{name} {value}: must be at least {min}.");
    }
}
