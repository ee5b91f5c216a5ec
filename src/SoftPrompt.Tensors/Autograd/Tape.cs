namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// The per-thread record of ops run with gradients enabled, replayed in reverse by
/// <see cref="Tensor.Backward()"/>. Ops run in program order, so reverse order is a valid
/// topological order; nodes no gradient reached are skipped.
/// </summary>
public static class Tape
{
    [ThreadStatic] static List<Node>? _nodes;
    [ThreadStatic] static int _noGradDepth;

    static List<Node> Nodes => _nodes ??= new List<Node>(1024);

    /// <summary>Whether ops record themselves (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsEnabled => _noGradDepth == 0;

    /// <summary>Number of nodes on this thread's tape.</summary>
    public static int Count => _nodes?.Count ?? 0;

    /// <summary>Disables recording until the returned scope is disposed.</summary>
    public static NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope();
    }

    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => _noGradDepth--;
    }

    /// <summary>True when an op with these inputs must record a node.</summary>
    public static bool Needs(Tensor a) => _noGradDepth == 0 && a.RequiresGrad;
    public static bool Needs(Tensor a, Tensor? b) => _noGradDepth == 0 && (a.RequiresGrad || (b?.RequiresGrad ?? false));
    public static bool Needs(Tensor a, Tensor? b, Tensor? c) => _noGradDepth == 0 && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    /// <summary>Records <paramref name="node"/> as the creator of <paramref name="output"/>, which now requires grad.</summary>
    public static Tensor Record(Node node, Tensor output)
    {
        node.Output = output;
        output.Creator = node;
        output.RequiresGrad = true;
        Nodes.Add(node);
        ForwardProfile.Current?.Charge(node);
        return output;
    }

    /// <summary>Records a node with several outputs (they must already be marked).</summary>
    public static void RecordMulti(Node node, Tensor primary, params Tensor[] others)
    {
        node.Output = primary;
        primary.Creator = node;
        primary.RequiresGrad = true;
        foreach (var o in others) { o.Creator = node; o.RequiresGrad = true; }
        Nodes.Add(node);
        ForwardProfile.Current?.Charge(node);
    }

    internal static void Backward(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward on {root}: it does not require grad (no trainable input reaches it, or it was made under NoGrad).");
        var grad = root.GradSpan();
        if (seed is null) grad[0] += 1f;
        else System.Numerics.Tensors.TensorPrimitives.Add(grad, seed.Span, grad);
        var nodes = Nodes;
        using (NoGrad())
        {
            var profile = BackwardProfile.Current;
            for (int i = nodes.Count - 1; i >= 0; i--)
            {
                var node = nodes[i];
                if (!node.ReceivedGrad) continue;
                if (profile is null) node.Backward();
                else
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    node.Backward();
                    profile.Add(node.GetType().Name, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
                }
                // The output's gradient has reached the inputs; like PyTorch, an intermediate keeps no
                // gradient, and its pooled buffer serves the next gradient of that size.
                var g = node.Output.Grad;
                if (g is not null && node.Output != root && g.Scope is not null)
                {
                    node.Output.Grad = null;
                    Memory.TensorScope.ReleaseEarly(g);
                }
            }
        }
        Clear();
        ForwardProfile.Current?.BackwardEnded();
    }

    /// <summary>Drops every recorded node (the graph is freed, as after a backward pass).</summary>
    public static void Clear() => _nodes?.Clear();

    internal static void TruncateTo(int count)
    {
        var nodes = _nodes;
        if (nodes is not null && nodes.Count > count) nodes.RemoveRange(count, nodes.Count - count);
    }
}
