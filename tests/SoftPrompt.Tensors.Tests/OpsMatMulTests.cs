using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>MatMul (2-D, batched, shared b; every transpose layout) and Linear, against matmul/linear.safetensors.</summary>
public class OpsMatMulTests
{
    public static TheoryData<string> MatMulCases => OpCase.CasesOf("matmul");
    public static TheoryData<string> LinearCases => OpCase.CasesOf("linear");

    [Theory, MemberData(nameof(MatMulCases))]
    public void MatMulMatchesPyTorch(string name) =>
        OpCase.Run("matmul", name, c => MatMul(c.In("a"), c.In("b"), c.Bool("trans_a"), c.Bool("trans_b")));

    [Theory, MemberData(nameof(LinearCases))]
    public void LinearMatchesPyTorch(string name) =>
        OpCase.Run("linear", name, c => Linear(c.In("x"), c.In("w"), c.InOpt("bias"), c.Bool("weight_in_out")));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LinearBackward_HasTheBitsOfItsProductsRunOneAfterTheOther(bool weightInOut)
    {
        // Big enough that, on two threads, the input- and weight-gradient products run side by side, one a thread:
        // every gradient must equal the products run directly, bit for bit.
        const int rows = 300, c = 256, oc = 320;
        var rng = new Rng(41);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); t.RequiresGrad = true; return t; }
        var x = R(rows, c); var w = weightInOut ? R(c, oc) : R(oc, c); var bias = R(oc);
        var dy = Tensor.Zeros(rows, oc); rng.FillNormal(dy.Span, 0f, 1f);
        for (int pass = 0; pass < 2; pass++)   // the first writes x's gradient, the second adds to it
            Linear(x, w, bias, weightInOut).Backward(dy);

        var dx = new float[rows * c]; var dw = new float[oc * c]; var db = new float[oc];
        for (int pass = 0; pass < 2; pass++)
        {
            Kernels.Sgemm.Multiply(false, weightInOut, rows, c, oc, dy.Span, oc, w.Span, w.Shape[1], dx, c, beta: pass == 0 ? 0f : 1f);
            if (weightInOut) Kernels.Sgemm.Multiply(true, false, c, oc, rows, x.Span, c, dy.Span, oc, dw, oc, beta: 1f);
            else Kernels.Sgemm.Multiply(true, false, oc, c, rows, dy.Span, oc, x.Span, c, dw, c, beta: 1f);
            Kernels.RowSum.AddTo(dy.Span, rows, oc, db);
        }
        Assert.Equal(dx, x.Grad!.ToArray());
        Assert.Equal(dw, w.Grad!.ToArray());
        Assert.Equal(db, bias.Grad!.ToArray());
    }
}
