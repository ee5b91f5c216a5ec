using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// An adapter being written, as a method's definition fills it (<see cref="Methods.MethodDefinition.Save"/>): the tensors
/// under PEFT's keys (and SoftPrompt's own under "softprompt."), and the method's fields of adapter_config.json on top of
/// the ones every PEFT config has.
/// </summary>
public sealed class AdapterWriter(ICausalLanguageModel model, string? baseModel, JsonObject config)
{
    readonly List<KeyValuePair<string, Tensor>> _tensors = [];

    public ICausalLanguageModel Model => model;
    public string? BaseModel => baseModel;

    /// <summary>adapter_config.json as it is being written.</summary>
    public JsonObject Config => config;

    public IReadOnlyList<KeyValuePair<string, Tensor>> Tensors => _tensors;

    public void Add(string key, Tensor tensor) => _tensors.Add(new(key, tensor));

    /// <summary>A value computed from the parameters (the P-tuning encoder's output, the projected prefix), copied out of any scope.</summary>
    public void AddComputed(string key, Tensor tensor)
    {
        var h = Tensor.ZerosOnHeap(tensor.Shape.ToArray());
        tensor.Span.CopyTo(h.Span);
        Add(key, h);
    }

    /// <summary>Every parameter of the module under prefix + its dotted name.</summary>
    public void AddModule(string prefix, Module module)
    {
        foreach (var (name, p) in module.NamedParameters()) Add(prefix + name, p);
    }

    /// <summary>The fields PEFT's PromptLearningConfig has (prompt tuning, P-tuning, prefix tuning).</summary>
    public void PromptLearning(int virtualTokens, int tokenDim, int heads)
    {
        config["num_virtual_tokens"] = virtualTokens;
        config["token_dim"] = tokenDim;
        config["num_transformer_submodules"] = 1;
        config["num_attention_heads"] = heads;
        config["num_layers"] = model.Config.Layers;
        config["modules_to_save"] = null;
    }
}
