using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Tape semantics: requires-grad propagation, no-grad, accumulation, detach, scopes and buffer reuse.</summary>
public class AutogradTests
{
    static Tensor Param(params float[] values)
    {
        var t = Tensor.FromArray(values, values.Length);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void RequiresGradPropagatesOnlyFromTrainableInputs()
    {
        var w = Tensor.FromArray([1f, 2f], 2);
        var p = Param(3f, 4f);
        Assert.False(F.Mul(w, w).RequiresGrad);
        Assert.True(F.Mul(w, p).RequiresGrad);
        using (Tape.NoGrad()) Assert.False(F.Mul(w, p).RequiresGrad);
        Tape.Clear();
    }

    [Fact]
    public void GradientsAccumulateIntoLeavesUntilZeroed()
    {
        var p = Param(3f, 4f);
        F.Sum(F.Mul(p, p)).Backward();          // d/dp Σp² = 2p
        F.Sum(F.Mul(p, p)).Backward();
        Assert.Equal([12f, 16f], p.Grad!.ToArray());
        p.ZeroGrad();
        F.Sum(p).Backward();
        Assert.Equal([1f, 1f], p.Grad!.ToArray());
    }

    [Fact]
    public void FrozenWeightsGetNoGradient()
    {
        var w = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 3, 2);   // frozen
        var x = Tensor.FromArray([1f, -1f], 1, 2); x.RequiresGrad = true;
        F.Sum(F.Linear(x, w)).Backward();
        Assert.Null(w.Grad);
        Assert.Equal([9f, 12f], x.Grad!.ToArray());                  // Σ over rows of W
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        var p = Param(2f);
        var y = F.Add(F.Mul(p, p), F.Mul(p, p).Detach());
        y.Backward();
        Assert.Equal(4f, p.Grad!.Span[0]);                            // only the attached term
    }

    [Fact]
    public void BackwardWithoutTrainableInputsIsAClearError()
    {
        var x = Tensor.FromArray([1f], 1);
        var e = Assert.Throws<InvalidOperationException>(() => F.Sum(x).Backward());
        Assert.Contains("does not require grad", e.Message);
    }

    [Fact]
    public void ScopeReturnsBuffersAndAStepReusesThemAfterWarmUp()
    {
        var rng = new Rng(7);
        var table = Tensor.Zeros(50, 16); rng.FillNormal(table.Span, 0, 1);
        var prompt = Tensor.Zeros(3, 16); rng.FillNormal(prompt.Span, 0, 1); prompt.RequiresGrad = true;
        var opt = new AdamW([prompt], lr: 1e-2);
        int[] ids = [1, 2, 3, 4, 5, 6];
        int[] targets = [2, 3, 4, 5, 6, 7, 8, 9, 10];
        long missesAfterFirst = 0;
        float first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            long before = BufferPool.AllocationsOnThisThread;   // other test classes use the pool at the same time
            using (TensorScope.Begin())
            {
                var x = F.Concat([prompt, F.Embedding(table, ids, 6)], 0);      // [9, 16]
                var h = F.Gelu(F.LayerNorm(x, null, null));
                var loss = F.CrossEntropy(F.Linear(h, table), targets);         // tied head [9, 50]
                if (step == 0) first = loss.Item();
                last = loss.Item();
                loss.Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            Assert.Equal(0, Tape.Count);
            if (step > 0) missesAfterFirst += BufferPool.AllocationsOnThisThread - before;
        }
        Assert.Equal(0, missesAfterFirst);
        Assert.True(last < first, $"loss should fall: {first} -> {last}");
    }

    [Fact]
    public void KeptTensorsSurviveTheirScope()
    {
        Tensor kept;
        using (var scope = TensorScope.Begin())
        {
            kept = scope.Keep(Tensor.Full(3f, 4));
            using (TensorScope.Begin()) { var t = Tensor.Full(5f, 4); }  // returned to the pool, may be reused
        }
        Assert.All(kept.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void ReadmeExampleRuns()
    {
        var w = Tensor.Zeros(3, 4);
        var prompt = Tensor.Zeros(2, 4); prompt.RequiresGrad = true;
        var opt = new AdamW([prompt], lr: 1e-3);
        using (TensorScope.Begin())
        {
            var x = F.Concat([prompt, F.Embedding(w, [0, 2], 2)], 0);
            var loss = F.CrossEntropy(F.Linear(x, w), [0, 1, 2, 0]);
            loss.Backward();
            opt.Step();
            Assert.Equal(MathF.Log(3f), loss.Item(), 1e-5);
        }
        Assert.NotNull(prompt.Grad);
    }

    [Fact]
    public void ProfilesChargeEachRecordedOpAndEachBackwardNodeByType()
    {
        Tape.Clear();
        var w = Param(1f, 2f, 3f);
        var x = Tensor.FromArray([0.5f, -1f, 2f], 3);
        using var forward = ForwardProfile.Start();
        using var backward = BackwardProfile.Start();
        forward.Resume();
        var y = F.Mul(F.Add(w, x), x);   // two binary ops recorded
        var z = F.Scale(x, 2f);          // records nothing: no input needs grad
        var loss = F.Sum(F.Add(y, z));   // charged the Scale's time too
        loss.Backward();
        var f = forward.Entries.ToDictionary(e => e.Node);
        Assert.Equal(3, f["BinaryNode"].Calls);
        Assert.Equal(1, f.Values.Sum(e => e.Calls) - 3);   // the sum
        Assert.All(forward.Entries, e => Assert.True(e.Seconds >= 0));
        Assert.Equal(3, backward.Entries.Single(e => e.Node == "BinaryNode").Calls);
        _ = F.Add(w, x);   // the first op after a backward is charged to the time between steps
        _ = F.Add(w, x);
        f = forward.Entries.ToDictionary(e => e.Node);
        Assert.Equal(4, f["BinaryNode"].Calls);
        Assert.Equal(1, f[ForwardProfile.BetweenSteps].Calls);
        forward.Dispose();
        Tape.Clear();
        _ = F.Add(Param(1f), Param(2f));
        Assert.Equal(4, f["BinaryNode"].Calls);   // a disposed profile collects nothing more
        Assert.Equal(6, forward.Entries.Sum(e => e.Calls));
    }
}
