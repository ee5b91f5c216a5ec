using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    // Packed layouts (W = MR for A, NR for B):
    //   A block [mc,kc] of op(A) -> ceil(mc/MR) micro-panels, each [kc][MR]: step p holds
    //     column p of MR consecutive rows.
    //   B panel [kc,nc] of op(B) -> ceil(nc/NR) micro-panels, each [kc][NR]: step p holds
    //     row p of NR consecutive columns.
    // Rows/columns past the edge are zero, so the micro-kernel always runs full tiles.
    //
    // Both operands reduce to one question: are the W values of step p contiguous in memory?
    //   contiguous ("copy"):    op(A) = A^T (A stored [k,m]), op(B) = B (stored [k,n])
    //   strided ("transpose"):  op(A) = A (stored [m,k]),     op(B) = B^T (stored [n,k])
    // so one pair of routines packs both. The transpose path moves 8×8 blocks through registers.

    /// <summary>Extra floats a packed buffer needs past its end: the transpose path stores 8 floats per step even when W is 6 or 12.</summary>
    const int PackSlack = 16;

    /// <summary>
    /// Packs one micro-panel [kc][w] from <paramref name="src"/>, where value (p, r) of the
    /// panel is <c>src[p*ld + r]</c> (contiguous along r). Only r &lt; <paramref name="valid"/> is
    /// read; the rest of each step is zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackCopy(float* dst, float* src, nint ld, int w, int valid, int kc)
    {
        if (valid == w && w == 16)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += 16)
            {
                Vector256.Load(src).Store(dst);
                Vector256.Load(src + 8).Store(dst + 8);
            }
            return;
        }
        if (valid == w && w == 32)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += 32)
            {
                Vector256.Load(src).Store(dst);
                Vector256.Load(src + 8).Store(dst + 8);
                Vector256.Load(src + 16).Store(dst + 16);
                Vector256.Load(src + 24).Store(dst + 24);
            }
            return;
        }
        if (valid == w && w == 6)
        {
            // A's micro-panels on the AVX2 path (MR = 6), e.g. dYᵀ of a weight gradient: 4 + 2 floats a step. The general
            // loop below copies the last two one by one; it took a tenth of a d = 256 pretraining step's samples, this 7 %.
            for (int p = 0; p < kc; p++, src += ld, dst += 6)
            {
                Vector128.Load(src).Store(dst);
                *(long*)(dst + 4) = *(long*)(src + 4);   // two floats as one 64-bit move: bits kept
            }
            return;
        }
        for (int p = 0; p < kc; p++, src += ld, dst += w)
        {
            int r = 0;
            for (; r + 8 <= valid; r += 8) Vector256.Load(src + r).Store(dst + r);
            if (r + 4 <= valid) { Vector128.Load(src + r).Store(dst + r); r += 4; }
            for (; r < valid; r++) dst[r] = src[r];
            for (; r < w; r++) dst[r] = 0f;
        }
    }

    /// <summary>
    /// Packs one micro-panel [kc][w] from <paramref name="src"/>, where value (p, r) of the
    /// panel is <c>src[r*ld + p]</c> (contiguous along p: a transpose). Only r &lt; <paramref name="valid"/>
    /// is read; the rest of each step is zero. May write up to 8 floats past the panel's end.
    /// </summary>
    static unsafe void PackTranspose(float* dst, float* src, nint ld, int w, int valid, int kc) =>
        PackTranspose<float, Float32Source>(dst, src, ld, w, valid, kc);

    /// <summary>
    /// <see cref="PackTranspose(float*, float*, nint, int, int, int)"/> over any element type <typeparamref name="T"/>
    /// that <typeparamref name="TS"/> reads as float32 (float itself, or a 16-bit format widened on load):
    /// compiled once per source, with no per-element branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackTranspose<T, TS>(float* dst, T* src, nint ld, int w, int valid, int kc) where T : unmanaged where TS : struct, IPanelSource<T>
    {
        int p = 0;
        if (TS.Vectorized)
        {
            // Blocks of 8 steps: for each group of 8 rows, load [8 rows][8 steps], transpose to
            // [8 steps][8 rows] and store each step's 8 values at dst[step*w + group*8]. When w is
            // not a multiple of 8 (MR = 6 or 12), a group's store spills past its step into the
            // next step's first floats: groups go last to first and steps ascend, so every spill
            // lands where a later store writes the real values (or in the slack past the panel).
            int groups = (w + 7) / 8;
            for (; p + 8 <= kc; p += 8)
            {
                for (int g = groups - 1; g >= 0; g--)
                {
                    int r0 = g * 8;
                    T* s = src + r0 * ld + p;
                    Vector256<float> x0 = r0 + 0 < valid ? TS.Load8(s) : default;
                    Vector256<float> x1 = r0 + 1 < valid ? TS.Load8(s + ld) : default;
                    Vector256<float> x2 = r0 + 2 < valid ? TS.Load8(s + 2 * ld) : default;
                    Vector256<float> x3 = r0 + 3 < valid ? TS.Load8(s + 3 * ld) : default;
                    Vector256<float> x4 = r0 + 4 < valid ? TS.Load8(s + 4 * ld) : default;
                    Vector256<float> x5 = r0 + 5 < valid ? TS.Load8(s + 5 * ld) : default;
                    Vector256<float> x6 = r0 + 6 < valid ? TS.Load8(s + 6 * ld) : default;
                    Vector256<float> x7 = r0 + 7 < valid ? TS.Load8(s + 7 * ld) : default;
                    Transpose8x8(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
                    float* d = dst + p * w + r0;
                    x0.Store(d); x1.Store(d + w); x2.Store(d + 2 * w); x3.Store(d + 3 * w);
                    x4.Store(d + 4 * w); x5.Store(d + 5 * w); x6.Store(d + 6 * w); x7.Store(d + 7 * w);
                }
            }
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * w;
            int r = 0;
            for (; r < valid; r++) d[r] = TS.Load1(src[r * ld + p]);
            for (; r < w; r++) d[r] = 0f;
        }
    }

    /// <summary>In-register transpose of 8 rows of 8 floats: afterwards xi holds column i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(ref Vector256<float> x0, ref Vector256<float> x1, ref Vector256<float> x2, ref Vector256<float> x3,
        ref Vector256<float> x4, ref Vector256<float> x5, ref Vector256<float> x6, ref Vector256<float> x7)
    {
        // Rows a..h. After unpack: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, ...
        Vector256<float> t0 = Avx.UnpackLow(x0, x1), t1 = Avx.UnpackHigh(x0, x1);
        Vector256<float> t2 = Avx.UnpackLow(x2, x3), t3 = Avx.UnpackHigh(x2, x3);
        Vector256<float> t4 = Avx.UnpackLow(x4, x5), t5 = Avx.UnpackHigh(x4, x5);
        Vector256<float> t6 = Avx.UnpackLow(x6, x7), t7 = Avx.UnpackHigh(x6, x7);
        // u0 = a0 b0 c0 d0 | a4 b4 c4 d4, u1 = a1 b1 c1 d1 | a5 .., u2 = a2 .. | a6 .., u3 = a3 .. | a7 ..
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Join the 128-bit halves: column i = low/high halves of u(i%4) and u(i%4 + 4).
        x0 = Avx.Permute2x128(u0, u4, 0x20); x4 = Avx.Permute2x128(u0, u4, 0x31);
        x1 = Avx.Permute2x128(u1, u5, 0x20); x5 = Avx.Permute2x128(u1, u5, 0x31);
        x2 = Avx.Permute2x128(u2, u6, 0x20); x6 = Avx.Permute2x128(u2, u6, 0x31);
        x3 = Avx.Permute2x128(u3, u7, 0x20); x7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
