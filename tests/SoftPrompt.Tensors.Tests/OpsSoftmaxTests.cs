using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Softmax, LogSoftmax and CrossEntropy (with ignore index) against softmax/cross_entropy.safetensors.</summary>
public class OpsSoftmaxTests
{
    public static TheoryData<string> SoftmaxCases => OpCase.CasesOf("softmax");
    public static TheoryData<string> CrossEntropyCases => OpCase.CasesOf("cross_entropy");

    [Theory, MemberData(nameof(SoftmaxCases))]
    public void SoftmaxMatchesPyTorch(string name) =>
        OpCase.Run("softmax", name, c => c.Op == "softmax" ? Softmax(c.In("x")) : LogSoftmax(c.In("x")));

    [Theory, MemberData(nameof(CrossEntropyCases))]
    public void CrossEntropyMatchesPyTorch(string name) =>
        OpCase.Run("cross_entropy", name, c => CrossEntropy(c.In("logits"), c.Ints("targets"), c.Int("ignore_index")));

    [Fact]
    public void CrossEntropyReuseLogitsForGradGivesTheSameGradient()
    {
        // reuseLogitsForGrad writes the gradient into the (non-leaf) logits' storage; it must equal the normal path.
        var f = FixtureFile.Load("cross_entropy");
        var raw = f.Tensor("ignore_index/logits");
        int[] t = f.Ints("ignore_index/targets");
        raw.RequiresGrad = true;
        var logits = Scale(raw, 1f);
        var loss = CrossEntropy(logits, t, IgnoreIndex, reuseLogitsForGrad: true);
        Compare.Close(loss, f.Tensor("ignore_index/y"), 1e-4, "reuse loss");
        loss.Backward(f.Tensor("ignore_index/gy"));
        Compare.Close(raw.Grad!, f.Tensor("ignore_index/grad_logits"), 1e-4, "reuse grad_logits");
    }

    [Fact]
    public void CrossEntropyWithEveryTargetIgnoredIsNaN()
    {
        // PyTorch: mean over zero counted targets is nan.
        var logits = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        Assert.True(float.IsNaN(CrossEntropy(logits, [-100, -100]).Item()));
    }
}
