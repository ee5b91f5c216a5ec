using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Inverted dropout with a seeded, counter-based mask: element i is kept when the top 24 bits of
/// Hash(key, i) are at least p·2²⁴, so the mask depends only on the key, not on threads or on how the
/// work is split, and backward recomputes it instead of storing it. The hash is 32-bit (two rounds of
/// MurmurHash3's finaliser, one per half of the key) so that eight lanes run in one AVX2 register.
/// </summary>
public static partial class Functional
{
    // x: [..] -> [..]; identity when p == 0 or not training
    public static Tensor Dropout(Tensor x, float p, Rng rng, bool training = true)
    {
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), got {p}.");
        if (!training || p == 0f) return x;
        ulong key = rng.NextUInt64();
        var y = x.EmptyLike();
        ApplyMask(x.Buffer, x.Offset, y.Buffer, y.Offset, x.Length, key, p, accumulate: false);
        if (Tape.Needs(x)) Tape.Record(new DropoutNode(x, key, p), y);
        return y;
    }

    const int DropoutBlock = 8192;

    // dst (+)= mask(key, i)·src/(1 − p), i in [0, n)
    static void ApplyMask(float[] src, int so, float[] dst, int d0, int n, ulong key, float p, bool accumulate)
    {
        RowParallel.ForBlocks(n, DropoutBlock, DropoutBlock * 8L, (start, len) =>
            DropoutMask.Apply(src.AsSpan(so + start, len), dst.AsSpan(d0 + start, len), (uint)start, key, p, accumulate));
    }

    sealed class DropoutNode(Tensor x, ulong key, float p) : Node
    {
        protected internal override void Backward()
        {
            var g = Output.Grad!;
            x.GradSpan();
            ApplyMask(g.Buffer, g.Offset, x.Grad!.Buffer, x.Grad.Offset, x.Length, key, p, accumulate: true);
        }
    }
}

/// <summary>The dropout mask kernel: a pure function of (key, element index), scalar and AVX2 paths bit-identical.</summary>
public static class DropoutMask
{
    const uint Golden = 0x9E3779B1u;

    /// <summary>MurmurHash3's 32-bit finaliser: every input bit affects every output bit.</summary>
    static uint Fmix(uint h)
    {
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        return h;
    }

    static Vector256<uint> Fmix(Vector256<uint> h)
    {
        h ^= Vector256.ShiftRightLogical(h, 16); h *= Vector256.Create(0x85EBCA6Bu);
        h ^= Vector256.ShiftRightLogical(h, 13); h *= Vector256.Create(0xC2B2AE35u);
        return h ^ Vector256.ShiftRightLogical(h, 16);
    }

    /// <summary>Uniform 24-bit value of element <paramref name="index"/> under <paramref name="key"/>.</summary>
    public static uint Bits24(ulong key, uint index) => Fmix(Fmix(index * Golden ^ (uint)key) ^ (uint)(key >> 32)) >> 8;

    /// <summary>The keep threshold: an element is kept when its <see cref="Bits24"/> ≥ this.</summary>
    public static uint Threshold(float p) => (uint)Math.Min(1 << 24, Math.Round(p * (1 << 24)));

    /// <summary>dst[i] (+)= keep(first + i) ? src[i]/(1 − p) : 0.</summary>
    public static void Apply(ReadOnlySpan<float> src, Span<float> dst, uint first, ulong key, float p, bool accumulate)
    {
        uint threshold = Threshold(p);
        float scale = 1f / (1f - p);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float s = ref MemoryMarshal.GetReference(src); ref float d = ref MemoryMarshal.GetReference(dst);
            var lane = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u);
            var klo = Vector256.Create((uint)key); var khi = Vector256.Create((uint)(key >> 32));
            var thr = Vector256.Create((int)threshold); var vs = Vector256.Create(scale);
            for (; i + 8 <= src.Length; i += 8)
            {
                var index = Vector256.Create(first + (uint)i) + lane;
                var bits = Vector256.ShiftRightLogical(Fmix(Fmix(index * Vector256.Create(Golden) ^ klo) ^ khi), 8).AsInt32();
                var keep = Vector256.GreaterThanOrEqual(bits, thr).AsSingle();     // < 2²⁴: signed compare is exact
                var v = Vector256.BitwiseAnd(keep, Vector256.LoadUnsafe(ref s, (nuint)i) * vs);
                if (accumulate) v += Vector256.LoadUnsafe(ref d, (nuint)i);
                v.StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < src.Length; i++)
        {
            float v = Bits24(key, first + (uint)i) >= threshold ? src[i] * scale : 0f;
            dst[i] = accumulate ? dst[i] + v : v;
        }
    }
}
