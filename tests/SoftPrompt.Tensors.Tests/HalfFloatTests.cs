using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Tests;

/// <summary>bf16/f16 widening is exact, checked on every one of the 65,536 bit patterns; narrowing rounds to nearest even.</summary>
public class HalfFloatTests
{
    static readonly ushort[] AllPatterns = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();

    [Fact]
    public void Float16WidensExactlyForEveryBitPattern_ScalarAndVector()
    {
        var vector = new float[AllPatterns.Length];
        HalfFloat.Widen(WeightDtype.F16, AllPatterns, vector);
        foreach (ushort h in AllPatterns)
        {
            float expect = (float)BitConverter.UInt16BitsToHalf(h);
            float scalar = HalfFloat.Float16ToSingle(h);
            if (float.IsNaN(expect))
            {
                Assert.True(float.IsNaN(scalar) && float.IsNaN(vector[h]), $"0x{h:X4} must widen to NaN");
                continue;
            }
            Assert.True(BitConverter.SingleToUInt32Bits(expect) == BitConverter.SingleToUInt32Bits(scalar), $"0x{h:X4}: scalar {scalar:R}, System.Half {expect:R}");
            Assert.True(BitConverter.SingleToUInt32Bits(expect) == BitConverter.SingleToUInt32Bits(vector[h]), $"0x{h:X4}: vector {vector[h]:R}, System.Half {expect:R}");
        }
    }

    [Fact]
    public void BFloat16WidensToTheTopHalfOfAFloat32ForEveryBitPattern()
    {
        var vector = new float[AllPatterns.Length];
        HalfFloat.Widen(WeightDtype.BF16, AllPatterns, vector);
        foreach (ushort h in AllPatterns)
        {
            Assert.Equal((uint)h << 16, BitConverter.SingleToUInt32Bits(vector[h]));
            Assert.Equal((uint)h << 16, BitConverter.SingleToUInt32Bits(HalfFloat.BFloat16ToSingle(h)));
        }
    }

    [Fact]
    public void NarrowingRoundsToNearestEvenAndRoundTripsRepresentableValues()
    {
        // 1 + 2⁻⁸ lies halfway between bf16 1 and 1 + 2⁻⁷: ties go to even (1); 1 + 3·2⁻⁸ goes up to 1 + 2⁻⁶.
        Assert.Equal(0x3F80, HalfFloat.SingleToBFloat16(1f + 1f / 256));
        Assert.Equal(0x3F82, HalfFloat.SingleToBFloat16(1f + 3f / 256));
        Assert.True(float.IsNaN(HalfFloat.BFloat16ToSingle(HalfFloat.SingleToBFloat16(float.NaN))));
        float[] exact = [0f, -0f, 1f, -2f, 0.5f, 1.5f, -0.25f, 256f, 6.1035156e-05f, float.PositiveInfinity];
        foreach (var dtype in new[] { WeightDtype.BF16, WeightDtype.F16 })
        {
            var bits = new ushort[exact.Length];
            var back = new float[exact.Length];
            HalfFloat.Narrow(dtype, exact, bits);
            HalfFloat.Widen(dtype, bits, back);
            Assert.Equal(exact.Select(BitConverter.SingleToUInt32Bits), back.Select(BitConverter.SingleToUInt32Bits));
        }
        // f16 narrowing is System.Half's conversion (round to nearest even): 1 + 2⁻¹¹ ties to 1.
        var one = new ushort[1];
        HalfFloat.Narrow(WeightDtype.F16, [1f + 1f / 2048], one);
        Assert.Equal(0x3C00, one[0]);
    }
}
