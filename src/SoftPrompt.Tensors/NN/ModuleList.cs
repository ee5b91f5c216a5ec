namespace SoftPrompt.Tensors.NN;

/// <summary>An indexed list of submodules, named "0", "1", … like PyTorch's <c>nn.ModuleList</c>.</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    readonly List<T> _items = [];

    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Add(m);
    }

    public void Add(T module) => _items.Add(RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));

    public int Count => _items.Count;
    public T this[int index] => _items[index];
}
