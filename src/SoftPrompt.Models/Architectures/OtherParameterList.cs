using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// A model's parameters besides its linear weights, in the model's order, each with the function that copies its
/// value: one list serves <see cref="ICausalLanguageModel.OtherParameters"/> and <see cref="ICausalLanguageModel.OtherParameter"/>,
/// so a name and its value cannot drift apart.
/// </summary>
sealed class OtherParameterList
{
    readonly List<ParameterInfo> _infos = [];
    readonly Dictionary<string, Func<Tensor>> _values = [];

    public IReadOnlyList<ParameterInfo> Infos => _infos;

    public void Add(string name, ParameterKind kind, Tensor value) => Add(name, kind, value.HeapCopy, [.. value.Shape]);

    public void Add(string name, ParameterKind kind, FrozenWeight value) => Add(name, kind, value.ToTensor, value.Rows, value.Cols);

    /// <summary>A parameter whose value is computed (GPT-2's c_attn bias, held split into q, k and v).</summary>
    public void Add(string name, ParameterKind kind, Func<Tensor> value, params int[] shape)
    {
        _infos.Add(new ParameterInfo(name, kind, shape));
        _values.Add(name, value);
    }

    /// <summary>A new float32 copy of the named parameter.</summary>
    public Tensor Copy(string name, string modelType) => _values.TryGetValue(name, out var value) ? value()
        : throw new ArgumentException($"'{name}' is not a parameter of this {modelType} model besides its linear weights (e.g. '{_infos[0].Name}').", nameof(name));
}
