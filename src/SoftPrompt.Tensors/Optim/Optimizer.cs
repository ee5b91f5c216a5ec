using System.Globalization;

namespace SoftPrompt.Tensors.Optim;

/// <summary>
/// Base of the optimizers: parameter groups, per-parameter step counts, and named state buffers that
/// are allocated once, when the optimizer is built, so that <see cref="Step"/> allocates nothing.
/// Parameters are numbered globally across groups in order (PyTorch's state_dict numbering); state
/// is exported as <c>state.{i}.{name}</c> arrays and <c>state.{i}.step</c> scalars, plus <c>groups.{g}.lr</c>.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Elements processed at a time: the scratch of a chunk lives on the stack and in L1.</summary>
    protected const int Chunk = 1024;

    readonly ParamGroup[] _groups;
    readonly int[] _groupStart;   // global index of each group's first parameter
    readonly List<(int Param, string Name, float[] Data)> _slots = [];

    /// <summary>Per parameter (global index): the number of steps that updated it (parameters without a gradient are skipped).</summary>
    protected readonly long[] Steps;

    protected Optimizer(IEnumerable<ParamGroup> groups, double lr, double weightDecay, OptimizerOptions defaults)
    {
        _groups = groups.ToArray();
        if (_groups.Length == 0) throw new ArgumentException($"{GetType().Name} got no parameter groups.");
        _groupStart = new int[_groups.Length];
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        int count = 0;
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            _groupStart[g] = count;
            foreach (var p in group.Parameters)
                if (!seen.Add(p)) throw new ArgumentException($"{GetType().Name}: parameter {p} appears in more than one place in the parameter groups.");
            count += group.Parameters.Count;
            group.Lr = group.InitialLr = group.RequestedLr ?? lr;
            group.WeightDecay = group.RequestedWeightDecay ?? weightDecay;
            var options = group.RequestedOptions ?? defaults;
            if (options.GetType() != defaults.GetType())
                throw new ArgumentException($"{GetType().Name}: parameter group {g} has options of type {options.GetType().Name}, expected {defaults.GetType().Name}.");
            group.Options = options;
            if (group.WeightDecayOffsets is not null && !SupportsWeightDecayOffsets)
                throw new ArgumentException($"{GetType().Name}: parameter group {g} has weight-decay offsets, which only AdamW applies.");
        }
        Steps = new long[count];
    }

    public IReadOnlyList<ParamGroup> Groups => _groups;

    /// <summary>Whether Step applies <see cref="ParamGroup.WeightDecayOffsets"/> (others refuse groups that carry them).</summary>
    protected virtual bool SupportsWeightDecayOffsets => false;

    /// <summary>Total number of parameters (tensors) across groups.</summary>
    public int ParameterCount => Steps.Length;

    /// <summary>Global index of parameter <paramref name="index"/> of group <paramref name="group"/>.</summary>
    protected int GlobalIndex(int group, int index) => _groupStart[group] + index;

    /// <summary>Allocates (zeroed) and registers a state buffer of a parameter, for export and import.</summary>
    protected float[] AddState(int param, string name, int length)
    {
        var data = new float[length];
        _slots.Add((param, name, data));
        return data;
    }

    /// <summary>Updates every parameter that has a gradient, once.</summary>
    public abstract void Step();

    /// <summary>Clears the gradients of every parameter (keeps the buffers).</summary>
    public void ZeroGrad()
    {
        foreach (var g in _groups)
            foreach (var p in g.Parameters) p.ZeroGrad();
    }

    /// <summary>Sets each group's learning rate to its initial learning rate times <paramref name="multiplier"/>.</summary>
    public void SetLrMultiplier(double multiplier)
    {
        foreach (var g in _groups) g.Lr = g.InitialLr * multiplier;
    }

    /// <summary>A copy of all optimizer state: moments and step counts per parameter, and each group's current learning rate.</summary>
    public OptimizerState StateDict()
    {
        var state = new OptimizerState();
        for (int i = 0; i < Steps.Length; i++) state.Scalars[StepKey(i)] = Steps[i];
        for (int g = 0; g < _groups.Length; g++) state.Scalars[LrKey(g)] = _groups[g].Lr;
        foreach (var (param, name, data) in _slots) state.Arrays[SlotKey(param, name)] = (float[])data.Clone();
        return state;
    }

    /// <summary>
    /// Restores state exported by <see cref="StateDict"/> from an optimizer over parameters of the same
    /// shapes. Every key must be present with the right length; nothing changes unless all are.
    /// </summary>
    public void LoadStateDict(OptimizerState state)
    {
        var errors = new List<string>();
        for (int i = 0; i < Steps.Length; i++)
            if (!state.Scalars.ContainsKey(StepKey(i))) errors.Add($"missing scalar '{StepKey(i)}'");
        for (int g = 0; g < _groups.Length; g++)
            if (!state.Scalars.ContainsKey(LrKey(g))) errors.Add($"missing scalar '{LrKey(g)}'");
        foreach (var (param, name, data) in _slots)
        {
            string key = SlotKey(param, name);
            if (!state.Arrays.TryGetValue(key, out var src)) errors.Add($"missing array '{key}'");
            else if (src.Length != data.Length) errors.Add($"array '{key}' has {src.Length} elements, expected {data.Length}");
        }
        var known = new HashSet<string>(_slots.Select(s => SlotKey(s.Param, s.Name)));
        foreach (var key in state.Arrays.Keys)
            if (!known.Contains(key)) errors.Add($"unexpected array '{key}'");
        if (errors.Count > 0)
            throw new InvalidOperationException($"Error(s) loading {GetType().Name} state: " + string.Join("; ", errors) + ".");
        for (int i = 0; i < Steps.Length; i++) Steps[i] = (long)state.Scalars[StepKey(i)];
        for (int g = 0; g < _groups.Length; g++) _groups[g].Lr = state.Scalars[LrKey(g)];
        foreach (var (param, name, data) in _slots) state.Arrays[SlotKey(param, name)].CopyTo(data, 0);
    }

    static string StepKey(int param) => string.Create(CultureInfo.InvariantCulture, $"state.{param}.step");
    static string LrKey(int group) => string.Create(CultureInfo.InvariantCulture, $"groups.{group}.lr");
    static string SlotKey(int param, string name) => string.Create(CultureInfo.InvariantCulture, $"state.{param}.{name}");
}

/// <summary>An optimizer's exported state: named float arrays (moments) and named scalars (step counts, learning rates).</summary>
public sealed class OptimizerState
{
    public Dictionary<string, float[]> Arrays { get; } = [];
    public Dictionary<string, double> Scalars { get; } = [];
}
