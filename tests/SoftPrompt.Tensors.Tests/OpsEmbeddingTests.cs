using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Embedding (repeated ids scatter-add), Gather (torch.gather) and the row ops (index_select, index_add, splice) against embedding.safetensors.</summary>
public class OpsEmbeddingTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("embedding");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("embedding", name, c => c.Op switch
    {
        "embedding" => Embedding(c.In("table"), c.Ints("ids"), c.ShapeOf("ids")),
        "gather" => Gather(c.In("x"), c.Int("dim"), c.Ints("index"), c.ShapeOf("index")),
        "index_select" => IndexSelect(c.In("x"), c.Ints("rows").ToArray()),
        "index_add" => IndexAdd(c.In("t"), c.Ints("rows").ToArray(), c.In("d")),
        "splice" => Splice(c.In("x"), [new(0, 0, c.In("v0")), new(1, 3, c.In("v1"))]),
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });

    [Fact]
    public void RowOpsMatchFiniteDifferences()
    {
        var rng = new Rng(3);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); t.RequiresGrad = true; return t; }
        Assert.Null(GradCheck.Check(i => Splice(i[0], [new(1, 1, i[1]), new(0, 4, i[2])]), [R(2, 6, 3), R(3, 3), R(2, 3)]));
        Assert.Null(GradCheck.Check(i => IndexSelect(i[0], [2, 2, 0]), [R(3, 2, 2)]));
        Assert.Null(GradCheck.Check(i => IndexAdd(i[0], [0, 3], i[1]), [R(4, 2), R(2, 2)]));
    }

    [Fact]
    public void RowOpsRejectBadInput()
    {
        var x = Tensor.Zeros(2, 4, 3);
        Assert.Throws<ShapeMismatchException>(() => Splice(x, [new(0, 3, Tensor.Zeros(2, 3))]));        // runs past the end
        Assert.Throws<ShapeMismatchException>(() => Splice(x, [new(0, 0, Tensor.Zeros(2, 5))]));        // wrong width
        Assert.Throws<ArgumentException>(() => Splice(x, [new(1, 0, Tensor.Zeros(2, 3)), new(1, 1, Tensor.Zeros(1, 3))]));
        Assert.Throws<ArgumentOutOfRangeException>(() => IndexSelect(x, [2]));
        Assert.Throws<ArgumentException>(() => IndexAdd(Tensor.Zeros(3, 2), [1, 1], Tensor.Zeros(2, 2)));
    }
}
