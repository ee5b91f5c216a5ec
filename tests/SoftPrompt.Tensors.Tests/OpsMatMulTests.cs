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
}
