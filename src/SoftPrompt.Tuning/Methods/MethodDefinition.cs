using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// Everything SoftPrompt knows of one method besides its module: its names, its default learning rate, how its config
/// binds from <see cref="MethodOptions"/> and from adapter_config.json, and how it is saved and loaded. Each method's
/// folder holds one (PEFT's one config type and one folder per method); <see cref="MethodRegistry"/> lists them.
/// </summary>
public abstract class MethodDefinition
{
    /// <summary>The CLI's --method value and softprompt.json's "method" (e.g. "prompt", "attn-prefix").</summary>
    public abstract string Name { get; }

    /// <summary>adapter_config.json's peft_type: PEFT's, or SoftPrompt's own (SOFTPROMPT_…) where PEFT has no layout.</summary>
    public abstract string PeftType { get; }

    /// <summary>One line for help texts.</summary>
    public abstract string Description { get; }

    /// <summary>The learning rate train and quickstart use when none is given.</summary>
    public abstract double DefaultLearningRate { get; }

    /// <summary>A new method for the model from the options this method reads; errors name the option and the value.</summary>
    public abstract TuningMethod Create(MethodOptions options, ICausalLanguageModel model, Rng rng);

    /// <summary>
    /// Whether this definition reads the adapter: its peft_type by default; definitions that share a PEFT type (prefix and
    /// deep prompts: PREFIX_TUNING) decide on the file's contents.
    /// </summary>
    public virtual bool Reads(AdapterReader adapter) => adapter.PeftType == PeftType;

    /// <summary>The method the adapter holds (written here or by PEFT), trainable again.</summary>
    public abstract TuningMethod Load(AdapterReader adapter);

    /// <summary>Adds the method's tensors and its adapter_config.json fields.</summary>
    public abstract void Save(TuningMethod method, AdapterWriter adapter);

    /// <summary>The method's own config record, kept in softprompt.json's "settings" (what PEFT's config does not hold).</summary>
    public abstract object Settings(TuningMethod method);

    public override string ToString() => Name;
}

/// <summary>A definition of one method type: the casts to it in one place.</summary>
public abstract class MethodDefinition<TMethod> : MethodDefinition where TMethod : TuningMethod
{
    public sealed override void Save(TuningMethod method, AdapterWriter adapter) => Save(Cast(method), adapter);

    public sealed override object Settings(TuningMethod method) => Settings(Cast(method));

    protected abstract void Save(TMethod method, AdapterWriter adapter);

    protected abstract object Settings(TMethod method);

    TMethod Cast(TuningMethod method) => method as TMethod
        ?? throw new ArgumentException($"The {Name} definition was given a {method.Name} method ({method.GetType().Name}).", nameof(method));
}
