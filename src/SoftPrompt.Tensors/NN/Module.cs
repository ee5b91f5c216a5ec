using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Tensors.NN;

/// <summary>
/// A layer or model: it owns named parameters and named submodules, both registered explicitly
/// (no reflection), so names are stable and ordered like PyTorch's <c>state_dict</c>
/// (<c>layers.0.weight</c>). Parameters are heap tensors that outlive every <see cref="TensorScope"/>.
/// </summary>
public abstract class Module
{
    readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    readonly List<KeyValuePair<string, Module>> _modules = [];

    /// <summary>Training mode (dropout active); set by <see cref="Train"/> and <see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Adds a parameter under <paramref name="name"/>; it is marked as requiring grad.</summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        CheckName(name);
        parameter.RequiresGrad = true;
        parameter.Name ??= name;
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>Adds a submodule under <paramref name="name"/>; its parameters appear as <c>name.*</c>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _modules.Add(new(name, module));
        return module;
    }

    void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Module member name '{name}' must be non-empty and contain no '.'.", nameof(name));
        if (_parameters.Exists(p => p.Key == name) || _modules.Exists(m => m.Key == name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
    }

    /// <summary>
    /// A zeroed tensor on the heap whatever scope is open: parameters must not return their storage
    /// to the pool when a step's scope ends.
    /// </summary>
    protected static Tensor NewParameter(params int[] shape) => Tensor.ZerosOnHeap(shape);

    /// <summary>Direct submodules with their names, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _modules;

    /// <summary>Every parameter with its dotted name: own parameters first, then each submodule's, depth-first.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return new(prefix + name, p);
        foreach (var (name, m) in _modules)
            foreach (var np in m.NamedParameters(prefix + name + "."))
                yield return np;
    }

    public IEnumerable<Tensor> Parameters()
    {
        foreach (var (_, p) in NamedParameters()) yield return p;
    }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Length);

    /// <summary>Name → parameter (the live tensors, not copies), in <see cref="NamedParameters"/> order.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, p) in NamedParameters()) dict.Add(name, p);
        return dict;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into the existing parameters (the parameter objects,
    /// which optimizers hold, stay the same). A shape mismatch always fails; missing and unexpected keys
    /// fail when <paramref name="strict"/>, and are reported in the result otherwise. Nothing is copied
    /// unless every check passes.
    /// </summary>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var errors = new List<string>();
        foreach (var (name, p) in own)
            if (state.TryGetValue(name, out var src) && !src.Shape.SequenceEqual(p.Shape))
                errors.Add($"size mismatch for '{name}': the checkpoint has shape {Tensor.Format(src.Shape)}, the model {Tensor.Format(p.Shape)}");
        if (strict)
        {
            if (missing.Count > 0) errors.Add("missing key(s): " + string.Join(", ", missing.Select(k => $"'{k}'")));
            if (unexpected.Count > 0) errors.Add("unexpected key(s): " + string.Join(", ", unexpected.Select(k => $"'{k}'")));
        }
        if (errors.Count > 0)
            throw new InvalidOperationException($"Error(s) loading state dict into {GetType().Name}: " + string.Join("; ", errors) + ".");
        foreach (var (name, p) in own)
            if (state.TryGetValue(name, out var src)) src.Span.CopyTo(p.Span);
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>Sets training mode here and in every submodule.</summary>
    public Module Train(bool mode = true)
    {
        IsTraining = mode;
        foreach (var (_, m) in _modules) m.Train(mode);
        return this;
    }

    /// <summary>Evaluation mode: same as <c>Train(false)</c>.</summary>
    public Module Eval() => Train(false);

    /// <summary>Freezes (false) or unfreezes (true) every parameter.</summary>
    public Module RequiresGrad(bool requiresGrad = true)
    {
        foreach (var p in Parameters()) p.RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }
}

/// <summary>Keys that a non-strict <see cref="Module.LoadStateDict"/> skipped.</summary>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
