using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// How a packing routine reads elements of type <typeparamref name="T"/> as float32: one element, or 8
/// consecutive ones into a vector. A type parameter, so the packer is compiled once per source.
/// </summary>
internal interface IPanelSource<T> where T : unmanaged
{
    /// <summary>Whether <see cref="Load8"/> runs in hardware here (else the packer takes the scalar path).</summary>
    static abstract bool Vectorized { get; }
    static abstract float Load1(T value);
    static abstract unsafe Vector256<float> Load8(T* p);
    static abstract unsafe Vector512<float> Load16(T* p);
}

/// <summary>float32 elements, read as they are.</summary>
internal struct Float32Source : IPanelSource<float>
{
    public static bool Vectorized => Avx.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(float* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(float* p) => Vector512.Load(p);
}

/// <summary>16-bit elements (bf16 or f16, <typeparamref name="TW"/>) widened to float32 on load.</summary>
internal struct Widened<TW> : IPanelSource<ushort> where TW : struct, IWiden
{
    public static bool Vectorized => Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(ushort value) => TW.Widen1(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(ushort* p) => TW.Widen8(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(ushort* p) => TW.Widen16(p);
}
