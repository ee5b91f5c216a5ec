using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// Decoding attention's passes over the cache for a range of heads: the cached positions in order, at each one
/// every head of the range (their keys or values lie side by side in the position's row). Whole vectors over a
/// head's width, AVX-512 or AVX2 (AVX2 alone under <see cref="Sgemm.ForceVector256"/>), whichever the width fills; a
/// width that fills neither takes a library call a head and position. A library call per 64-float dot product or
/// axpy cost about twice its arithmetic.
/// </summary>
public static class HeadRows
{
    /// <summary>
    /// KvHeads kv heads of Hd floats side by side in rows Stride floats apart, each read by Group query heads
    /// (grouped-query attention); query head h = kv head · Group + g; its scores are a row of ScoreStride.
    /// </summary>
    public readonly record struct Layout(int KvHeads, int Group, int Hd, int Stride, int ScoreStride)
    {
        public int Heads => KvHeads * Group;

        public void Check(string op, int rowFloats, int scoreFloats, int first, int n, int vectorFloats)
        {
            if (n > 0 && (long)(n - 1) * Stride + KvHeads * Hd > rowFloats)
                throw new ArgumentException($"HeadRows.{op}: {n} rows of {KvHeads}·{Hd} at stride {Stride} need more than the {rowFloats} floats given.");
            if (first < 0 || first + n > ScoreStride || (long)Heads * ScoreStride > scoreFloats)
                throw new ArgumentException($"HeadRows.{op}: scores [{first}, {first + n}) of {Heads} rows of {ScoreStride} do not fit {scoreFloats} floats.");
            if (vectorFloats < Heads * Hd) throw new ArgumentException($"HeadRows.{op}: {Heads} heads of {Hd} need {Heads * Hd} floats, got {vectorFloats}.");
        }
    }

    // q: [Heads·Hd], rows: n positions -> scores[h·ScoreStride + first + j] = scale · ⟨q_h, key_{h/Group}(j)⟩
    public static void Dots(Layout l, ReadOnlySpan<float> q, ReadOnlySpan<float> rows, float scale, Span<float> scores, int first, int n)
    {
        l.Check(nameof(Dots), rows.Length, scores.Length, first, n, q.Length);
        ref float qr = ref MemoryMarshal.GetReference(q);
        ref float r0 = ref MemoryMarshal.GetReference(rows);
        ref float sr = ref MemoryMarshal.GetReference(scores);
        int hd = l.Hd, width = VectorWidth(hd);
        for (int j = 0; j < n; j++)
        {
            ref float row = ref Unsafe.Add(ref r0, (nint)j * l.Stride);
            for (int kh = 0; kh < l.KvHeads; kh++)
            {
                ref float key = ref Unsafe.Add(ref row, kh * hd);
                for (int g = 0; g < l.Group; g++)
                {
                    int h = kh * l.Group + g;
                    Unsafe.Add(ref sr, h * l.ScoreStride + first + j) = scale * Dot(ref Unsafe.Add(ref qr, h * hd), ref key, hd, width);
                }
            }
        }
    }

    // scores as Dots writes them, rows: n positions, o: [Heads·Hd] -> o_h += Σ_j scores[h·ScoreStride + first + j] · value_{h/Group}(j) (weight 0: not read)
    public static void WeightedSum(Layout l, ReadOnlySpan<float> scores, int first, int n, ReadOnlySpan<float> rows, Span<float> o)
    {
        l.Check(nameof(WeightedSum), rows.Length, scores.Length, first, n, o.Length);
        ref float or = ref MemoryMarshal.GetReference(o);
        ref float r0 = ref MemoryMarshal.GetReference(rows);
        ref float sr = ref MemoryMarshal.GetReference(scores);
        int hd = l.Hd, width = VectorWidth(hd);
        for (int j = 0; j < n; j++)
        {
            ref float row = ref Unsafe.Add(ref r0, (nint)j * l.Stride);
            for (int kh = 0; kh < l.KvHeads; kh++)
            {
                ref float value = ref Unsafe.Add(ref row, kh * hd);
                for (int g = 0; g < l.Group; g++)
                {
                    int h = kh * l.Group + g;
                    float p = Unsafe.Add(ref sr, h * l.ScoreStride + first + j);
                    if (p != 0f) Axpy(p, ref value, ref Unsafe.Add(ref or, h * hd), hd, width);
                }
            }
        }
    }

    /// <summary>Floats a vector holds on the path a head of hd takes: 16 (AVX-512), 8 (AVX2) or 0 (a library call).</summary>
    static int VectorWidth(int hd) =>
        Vector512.IsHardwareAccelerated && !Sgemm.ForceVector256 && hd % 16 == 0 ? 16 : Vector256.IsHardwareAccelerated && hd % 8 == 0 ? 8 : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot(ref float a, ref float b, int hd, int width)
    {
        if (width == 16)
        {
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < hd; c += 16)
                acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)c), Vector512.LoadUnsafe(ref b, (nuint)c), acc);
            return Vector512.Sum(acc);
        }
        if (width == 8)
        {
            var acc = Vector256<float>.Zero;
            for (int c = 0; c < hd; c += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)c), Vector256.LoadUnsafe(ref b, (nuint)c), acc);
            return Vector256.Sum(acc);
        }
        return TensorPrimitives.Dot(MemoryMarshal.CreateReadOnlySpan(ref a, hd), MemoryMarshal.CreateReadOnlySpan(ref b, hd));
    }

    // y += p · x over hd floats
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Axpy(float p, ref float x, ref float y, int hd, int width)
    {
        if (width == 16)
        {
            var pv = Vector512.Create(p);
            for (int c = 0; c < hd; c += 16)
                Vector512.FusedMultiplyAdd(pv, Vector512.LoadUnsafe(ref x, (nuint)c), Vector512.LoadUnsafe(ref y, (nuint)c)).StoreUnsafe(ref y, (nuint)c);
            return;
        }
        if (width == 8)
        {
            var pv = Vector256.Create(p);
            for (int c = 0; c < hd; c += 8)
                Vector256.FusedMultiplyAdd(pv, Vector256.LoadUnsafe(ref x, (nuint)c), Vector256.LoadUnsafe(ref y, (nuint)c)).StoreUnsafe(ref y, (nuint)c);
            return;
        }
        var ys = MemoryMarshal.CreateSpan(ref y, hd);
        TensorPrimitives.MultiplyAdd(MemoryMarshal.CreateReadOnlySpan(ref x, hd), p, ys, ys);
    }
}
