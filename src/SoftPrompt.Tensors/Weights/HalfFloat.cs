using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Tensors.Weights;

/// <summary>
/// bfloat16 and float16 bit patterns (ushort) to and from float32. Widening is exact for both:
///   bf16 → f32: the 16 bits become the top half of the float32 (a shift).
///   f16  → f32: .NET 10 exposes no F16C (vcvtph2ps) intrinsic, so the bits are moved into place
///               arithmetically: (h &amp; 0x7FFF) &lt;&lt; 13 read as a float32 is the value × 2⁻¹¹²
///               (normals and subnormals alike), one exact multiplication by 2¹¹² rescales it, and
///               exponent 31 (Inf/NaN) is forced to 255; the sign is or-ed back in.
/// Narrowing rounds to nearest, ties to even (as PyTorch's .to(bfloat16/float16)); NaN stays NaN.
/// </summary>
public static class HalfFloat
{
    /// <summary>2¹¹² (bits 0x77800000): rescales f16 bits shifted into a float32's place.</summary>
    static readonly float TwoPow112 = BitConverter.UInt32BitsToSingle(0x77800000u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>float32 → bfloat16, round-to-nearest-even; NaN stays a (quiet) NaN.</summary>
    public static ushort SingleToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Float16ToSingle(ushort bits)
    {
        uint em = bits & 0x7FFFu;
        float f = BitConverter.UInt32BitsToSingle(em << 13) * TwoPow112;
        uint r = BitConverter.SingleToUInt32Bits(f) | (em >= 0x7C00u ? 0x7F800000u : 0u) | ((uint)(bits & 0x8000) << 16);
        return BitConverter.UInt32BitsToSingle(r);
    }

    /// <summary>Eight f16 bit patterns (as uint lanes) to float32, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Float16ToSingle(Vector256<uint> h)
    {
        Vector256<uint> em = h & Vector256.Create(0x7FFFu);
        Vector256<float> f = (em << 13).AsSingle() * Vector256.Create(TwoPow112);
        Vector256<uint> special = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u)) & Vector256.Create(0x7F800000u);
        return (f.AsUInt32() | special | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>Sixteen f16 bit patterns (as uint lanes) to float32, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Float16ToSingle(Vector512<uint> h)
    {
        Vector512<uint> em = h & Vector512.Create(0x7FFFu);
        Vector512<float> f = (em << 13).AsSingle() * Vector512.Create(TwoPow112);
        Vector512<uint> special = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u)) & Vector512.Create(0x7F800000u);
        return (f.AsUInt32() | special | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>Eight 16-bit values at <paramref name="p"/>, zero-extended to uint lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<uint> Load8(ushort* p) =>
        Avx2.IsSupported ? Avx2.ConvertToVector256Int32(p).AsUInt32() : Vector256.WidenLower(Vector256.Create(Vector128.Load(p), default));

    /// <summary>Sixteen 16-bit values at <paramref name="p"/>, zero-extended to uint lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<uint> Load16(ushort* p) =>
        Avx512F.IsSupported ? Avx512F.ConvertToVector512UInt32(Vector256.Load(p)) : Vector512.WidenLower(Vector512.Create(Vector256.Load(p), default));

    /// <summary>Widens <paramref name="src"/> (bf16 or f16 bits) into <paramref name="dst"/>.</summary>
    public static unsafe void Widen(WeightDtype dtype, ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dtype == WeightDtype.F32) throw new ArgumentException("Widen: F32 holds no 16-bit data.", nameof(dtype));
        if (dst.Length < src.Length) throw new ArgumentException($"Widen: {src.Length} values do not fit {dst.Length} floats.", nameof(dst));
        fixed (ushort* ps = src)
        fixed (float* pd = dst)
        {
            if (dtype == WeightDtype.BF16) WidenRun<Bf16>(ps, pd, src.Length);
            else WidenRun<F16>(ps, pd, src.Length);
        }
    }

    /// <summary>Narrows float32 to bf16 or f16 bits, round-to-nearest-even.</summary>
    public static void Narrow(WeightDtype dtype, ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"Narrow: {src.Length} values do not fit {dst.Length} slots.", nameof(dst));
        switch (dtype)
        {
            case WeightDtype.BF16:
                for (int i = 0; i < src.Length; i++) dst[i] = SingleToBFloat16(src[i]);
                break;
            case WeightDtype.F16:
                TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<ushort, Half>(dst));
                break;
            default: throw new ArgumentException("Narrow: F32 needs no narrowing.", nameof(dtype));
        }
    }

    /// <summary>dst[0..n) = widen(src[0..n)).</summary>
    internal static unsafe void WidenRun<TW>(ushort* src, float* dst, int n) where TW : struct, IWiden
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) TW.Widen16(src + i).Store(dst + i);
        for (; i + 8 <= n; i += 8) TW.Widen8(src + i).Store(dst + i);
        for (; i < n; i++) dst[i] = TW.Widen1(src[i]);
    }
}

/// <summary>
/// A 16-bit float format widened to float32, as a type parameter: kernels generic over it are
/// compiled once per format, with no per-element branch on the format.
/// </summary>
internal interface IWiden
{
    static abstract float Widen1(ushort h);
    static abstract unsafe Vector256<float> Widen8(ushort* p);
    static abstract unsafe Vector512<float> Widen16(ushort* p);
}

internal struct Bf16 : IWiden
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Widen1(ushort h) => HalfFloat.BFloat16ToSingle(h);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Widen8(ushort* p) => (HalfFloat.Load8(p) << 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Widen16(ushort* p) => (HalfFloat.Load16(p) << 16).AsSingle();
}

internal struct F16 : IWiden
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Widen1(ushort h) => HalfFloat.Float16ToSingle(h);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Widen8(ushort* p) => HalfFloat.Float16ToSingle(HalfFloat.Load8(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Widen16(ushort* p) => HalfFloat.Float16ToSingle(HalfFloat.Load16(p));
}
