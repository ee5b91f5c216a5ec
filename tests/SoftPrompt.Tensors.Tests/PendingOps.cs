using System.Reflection;
using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Binds ops that are being added on main (Rope, LstmLayer, GumbelSoftmax) by reflection, so this
/// project builds before they land; a test of a missing op fails with a message saying so.
/// </summary>
internal static class PendingOps
{
    public delegate Tensor RopeSpans(Tensor x, int heads, ReadOnlySpan<float> invFreq, ReadOnlySpan<int> positions);
    public delegate Tensor RopeArrays(Tensor x, int heads, float[] invFreq, int[] positions);

    static MethodInfo Find(string name, params Type[] parameters) =>
        typeof(Functional).GetMethod(name, BindingFlags.Public | BindingFlags.Static, parameters)
        ?? throw new Xunit.Sdk.XunitException($"Functional.{name}({string.Join(", ", parameters.Select(p => p.Name))}) is not in SoftPrompt.Tensors yet (merge main).");

    public static Tensor Rope(Tensor x, int heads, float[] invFreq, int[] positions)
    {
        var spans = typeof(Functional).GetMethod("Rope", BindingFlags.Public | BindingFlags.Static,
            [typeof(Tensor), typeof(int), typeof(ReadOnlySpan<float>), typeof(ReadOnlySpan<int>)]);
        if (spans is not null) return spans.CreateDelegate<RopeSpans>()(x, heads, invFreq, positions);
        return Find("Rope", typeof(Tensor), typeof(int), typeof(float[]), typeof(int[])).CreateDelegate<RopeArrays>()(x, heads, invFreq, positions);
    }

    public static Tensor LstmLayer(Tensor x, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, bool reverse) =>
        Invoke(Find("LstmLayer", typeof(Tensor), typeof(Tensor), typeof(Tensor), typeof(Tensor), typeof(Tensor), typeof(bool)), x, wIh, wHh, bIh, bHh, reverse);

    public static Tensor GumbelSoftmax(Tensor logits, float tau, bool hard, Tensor noise) =>
        Invoke(Find("GumbelSoftmax", typeof(Tensor), typeof(float), typeof(bool), typeof(Tensor)), logits, tau, hard, noise);

    static Tensor Invoke(MethodInfo m, params object?[] args)
    {
        try { return (Tensor)m.Invoke(null, args)!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
