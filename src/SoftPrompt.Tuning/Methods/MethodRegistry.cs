using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods.AttentionInputPrefix;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// The one list of methods: train, quickstart, eval, inspect, the adapter reader and writer and their error messages all
/// take it from here. Adding a method is a new folder (config, method, definition) and one line below.
/// </summary>
public static class MethodRegistry
{
    /// <summary>Every method, in the order help texts list them. Where two read the same peft_type, the first that reads a file loads it.</summary>
    public static readonly IReadOnlyList<MethodDefinition> All =
    [
        PromptTuningDefinition.Instance,
        PrefixTuningDefinition.Instance,
        PTuningDefinition.Instance,
        DeepPromptDefinition.Instance,
        LoraDefinition.Instance,
        FullFineTuningDefinition.Instance,
        AttentionInputPrefixDefinition.Instance,
    ];

    /// <summary>"prompt | prefix | …", for help texts and errors.</summary>
    public static string Names => string.Join(" | ", All.Select(d => d.Name));

    /// <summary>Every peft_type an adapter may have.</summary>
    public static string PeftTypes => string.Join(", ", All.Select(d => d.PeftType).Distinct());

    /// <summary>The method named (case-insensitive); an error listing every name otherwise.</summary>
    public static MethodDefinition Get(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"--method '{name}': one of {Names}.");

    /// <summary>The definition that reads the adapter; an error naming the file and every supported peft_type otherwise.</summary>
    public static MethodDefinition For(AdapterReader adapter) =>
        All.FirstOrDefault(d => d.Reads(adapter))
        ?? throw adapter.ConfigError($"peft_type '{adapter.PeftType}' is not supported ({PeftTypes}).");
}
