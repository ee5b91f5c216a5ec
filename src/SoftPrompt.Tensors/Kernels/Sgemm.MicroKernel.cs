using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    // The micro-kernels compute one MR×NR tile of C from a packed A micro-panel (kc steps of MR
    // floats: column p of the tile's rows) and a packed B micro-panel (kc steps of NR floats:
    // row p of the tile's columns). Per step: NR/W vector loads of B, MR broadcasts of A, and
    // MR·NR/W FMAs into accumulators that live in registers for the whole kc loop.
    //   Vector256:  6×16 -> 12 ymm accumulators + 2 B + 1 broadcast = 15 of 16 ymm (AVX2).
    //   Vector512: 12×32 -> 24 zmm accumulators + 2 B + 1 broadcast = 27 of 32 zmm (AVX-512).
    // At the end the tile is written as C = alpha*acc + beta*C (beta == 0: C is not read), or, given
    // a bias (the NR columns' entries; beta is 0 then), C = alpha*acc + bias: one FMA a vector.
    // The kernels are fully optimised from the first call and never inlined, so their loop is
    // always the one compiled on its own (accumulators in registers, nothing else live in the
    // loop) whatever the JIT decides for the driver around them; inlined, they measured the same.

    /// <summary>
    /// Full tile, AVX2: C[6,16] (row stride ldc) = alpha * Apanel[kc,6]^T · Bpanel[kc,16] + beta * C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    static unsafe void Kernel6x16(nint kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;

        for (nint p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai;
            ai = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            a += 6;
            b += 16;
        }

        Vector256<float> va = Vector256.Create(alpha);
        if (bias != null)
        {
            Vector256<float> z0 = Vector256.Load(bias), z1 = Vector256.Load(bias + 8);
            Bias256(c, c00, c01, va, z0, z1); c += ldc;
            Bias256(c, c10, c11, va, z0, z1); c += ldc;
            Bias256(c, c20, c21, va, z0, z1); c += ldc;
            Bias256(c, c30, c31, va, z0, z1); c += ldc;
            Bias256(c, c40, c41, va, z0, z1); c += ldc;
            Bias256(c, c50, c51, va, z0, z1);
        }
        else if (beta == 0f)
        {
            (va * c00).Store(c); (va * c01).Store(c + 8); c += ldc;
            (va * c10).Store(c); (va * c11).Store(c + 8); c += ldc;
            (va * c20).Store(c); (va * c21).Store(c + 8); c += ldc;
            (va * c30).Store(c); (va * c31).Store(c + 8); c += ldc;
            (va * c40).Store(c); (va * c41).Store(c + 8); c += ldc;
            (va * c50).Store(c); (va * c51).Store(c + 8);
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Update256(c, c00, c01, va, vb); c += ldc;
            Update256(c, c10, c11, va, vb); c += ldc;
            Update256(c, c20, c21, va, vb); c += ldc;
            Update256(c, c30, c31, va, vb); c += ldc;
            Update256(c, c40, c41, va, vb); c += ldc;
            Update256(c, c50, c51, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Bias256(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> z0, Vector256<float> z1)
    {
        Vector256.FusedMultiplyAdd(va, x0, z0).Store(c);
        Vector256.FusedMultiplyAdd(va, x1, z1).Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Update256(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.FusedMultiplyAdd(va, x0, vb * Vector256.Load(c)).Store(c);
        Vector256.FusedMultiplyAdd(va, x1, vb * Vector256.Load(c + 8)).Store(c + 8);
    }

    /// <summary>
    /// Full tile, AVX-512: C[12,32] (row stride ldc) = alpha * Apanel[kc,12]^T · Bpanel[kc,32] + beta * C.
    /// The same structure as <see cref="Kernel6x16"/> with twice the rows and twice the vector width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    static unsafe void Kernel12x32(nint kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default;
        Vector512<float> cA0 = default, cA1 = default, cB0 = default, cB1 = default;

        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai;
            ai = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            ai = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(ai, b0, c80); c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
            ai = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(ai, b0, c90); c91 = Vector512.FusedMultiplyAdd(ai, b1, c91);
            ai = Vector512.Create(a[10]); cA0 = Vector512.FusedMultiplyAdd(ai, b0, cA0); cA1 = Vector512.FusedMultiplyAdd(ai, b1, cA1);
            ai = Vector512.Create(a[11]); cB0 = Vector512.FusedMultiplyAdd(ai, b0, cB0); cB1 = Vector512.FusedMultiplyAdd(ai, b1, cB1);
            a += 12;
            b += 32;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (bias != null)
        {
            Vector512<float> z0 = Vector512.Load(bias), z1 = Vector512.Load(bias + 16);
            Bias512(c, c00, c01, va, z0, z1); c += ldc;
            Bias512(c, c10, c11, va, z0, z1); c += ldc;
            Bias512(c, c20, c21, va, z0, z1); c += ldc;
            Bias512(c, c30, c31, va, z0, z1); c += ldc;
            Bias512(c, c40, c41, va, z0, z1); c += ldc;
            Bias512(c, c50, c51, va, z0, z1); c += ldc;
            Bias512(c, c60, c61, va, z0, z1); c += ldc;
            Bias512(c, c70, c71, va, z0, z1); c += ldc;
            Bias512(c, c80, c81, va, z0, z1); c += ldc;
            Bias512(c, c90, c91, va, z0, z1); c += ldc;
            Bias512(c, cA0, cA1, va, z0, z1); c += ldc;
            Bias512(c, cB0, cB1, va, z0, z1);
        }
        else if (beta == 0f)
        {
            (va * c00).Store(c); (va * c01).Store(c + 16); c += ldc;
            (va * c10).Store(c); (va * c11).Store(c + 16); c += ldc;
            (va * c20).Store(c); (va * c21).Store(c + 16); c += ldc;
            (va * c30).Store(c); (va * c31).Store(c + 16); c += ldc;
            (va * c40).Store(c); (va * c41).Store(c + 16); c += ldc;
            (va * c50).Store(c); (va * c51).Store(c + 16); c += ldc;
            (va * c60).Store(c); (va * c61).Store(c + 16); c += ldc;
            (va * c70).Store(c); (va * c71).Store(c + 16); c += ldc;
            (va * c80).Store(c); (va * c81).Store(c + 16); c += ldc;
            (va * c90).Store(c); (va * c91).Store(c + 16); c += ldc;
            (va * cA0).Store(c); (va * cA1).Store(c + 16); c += ldc;
            (va * cB0).Store(c); (va * cB1).Store(c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Update512(c, c00, c01, va, vb); c += ldc;
            Update512(c, c10, c11, va, vb); c += ldc;
            Update512(c, c20, c21, va, vb); c += ldc;
            Update512(c, c30, c31, va, vb); c += ldc;
            Update512(c, c40, c41, va, vb); c += ldc;
            Update512(c, c50, c51, va, vb); c += ldc;
            Update512(c, c60, c61, va, vb); c += ldc;
            Update512(c, c70, c71, va, vb); c += ldc;
            Update512(c, c80, c81, va, vb); c += ldc;
            Update512(c, c90, c91, va, vb); c += ldc;
            Update512(c, cA0, cA1, va, vb); c += ldc;
            Update512(c, cB0, cB1, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Bias512(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> z0, Vector512<float> z1)
    {
        Vector512.FusedMultiplyAdd(va, x0, z0).Store(c);
        Vector512.FusedMultiplyAdd(va, x1, z1).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Update512(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.FusedMultiplyAdd(va, x0, vb * Vector512.Load(c)).Store(c);
        Vector512.FusedMultiplyAdd(va, x1, vb * Vector512.Load(c + 16)).Store(c + 16);
    }

    /// <summary>
    /// One MR×NR tile of C, full or clipped to <paramref name="mr"/>×<paramref name="nr"/> at the
    /// right and bottom edges. A clipped tile is computed whole into <paramref name="tile"/>
    /// (the packs are zero-padded, so the extra rows/columns are just zeros) and only its valid
    /// part is merged into C, so the kernels never touch memory outside C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Tile(in Blocking bl, int kc, float* a, float* b, float* c, nint ldc, int mr, int nr,
        float alpha, float beta, float* bias, float* tile)
    {
        if (mr == bl.MR && nr == bl.NR)
        {
            if (bl.Wide) Kernel12x32(kc, a, b, c, ldc, alpha, beta, bias);
            else Kernel6x16(kc, a, b, c, ldc, alpha, beta, bias);
            return;
        }
        if (bl.Wide) Kernel12x32(kc, a, b, tile, bl.NR, 1f, 0f, null);
        else Kernel6x16(kc, a, b, tile, bl.NR, 1f, 0f, null);
        MergeTile(c, ldc, tile, bl.NR, mr, nr, alpha, beta, bias);
    }

    /// <summary>
    /// C[mr,nr] = alpha * T[mr,nr] + beta * C (beta == 0: C not read), or alpha * T + bias[0..nr) given a bias,
    /// 8 columns at a time.
    /// </summary>
    static unsafe void MergeTile(float* c, nint ldc, float* t, int ldt, int mr, int nr, float alpha, float beta, float* bias)
    {
        Vector256<float> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        for (int i = 0; i < mr; i++, c += ldc, t += ldt)
        {
            int j = 0;
            if (bias != null)
            {
                for (; j + 8 <= nr; j += 8) Vector256.FusedMultiplyAdd(va, Vector256.Load(t + j), Vector256.Load(bias + j)).Store(c + j);
                for (; j < nr; j++) c[j] = alpha * t[j] + bias[j];
            }
            else if (beta == 0f)
            {
                for (; j + 8 <= nr; j += 8) (va * Vector256.Load(t + j)).Store(c + j);
                for (; j < nr; j++) c[j] = alpha * t[j];
            }
            else
            {
                for (; j + 8 <= nr; j += 8) Vector256.FusedMultiplyAdd(va, Vector256.Load(t + j), vb * Vector256.Load(c + j)).Store(c + j);
                for (; j < nr; j++) c[j] = alpha * t[j] + beta * c[j];
            }
        }
    }
}
