using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// One direction of one LSTM layer (PyTorch gate order i, f, g, o; zero initial state), as a
/// fused op with explicit backpropagation through time. The input projection of every step is one
/// GEMM up front; each step then adds h_{t-1}·W_hhᵀ. Multi-layer and bidirectional LSTMs compose
/// this op (see NN/Lstm.cs).
/// </summary>
public static partial class Functional
{
    // x: [B, T, I], wIh: [4H, I], wHh: [4H, H], bIh, bHh: [4H] -> h: [B, T, H]
    public static Tensor LstmLayer(Tensor x, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, bool reverse)
    {
        const string op = "LstmLayer";
        ShapeCheck.Rank(op, x, 3); ShapeCheck.Rank(op, wIh, 2, "weight_ih"); ShapeCheck.Rank(op, wHh, 2, "weight_hh");
        int b = x.Shape[0], t = x.Shape[1], inF = x.Shape[2], h = wHh.Shape[1], g4 = 4 * h;
        if (wIh.Shape[0] != g4 || wIh.Shape[1] != inF) throw ShapeCheck.Fail(op, $"weight_ih must be [{g4}, {inF}]", x, wIh);
        if (wHh.Shape[0] != g4) throw ShapeCheck.Fail(op, $"weight_hh must be [4·{h}, {h}]", wHh);
        foreach (var bias in new[] { bIh, bHh })
            if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != g4)) throw ShapeCheck.Fail(op, $"biases must be [{g4}]", wHh, bias);

        // gates[B, T, 4H]: pre-activations x·W_ihᵀ + b_ih + b_hh, activated in place step by step
        var gates = Tensor.Uninitialized(b, t, g4);
        var gs = gates.Span;
        for (int r = 0; r < b * t; r++)
        {
            var row = gs.Slice(r * g4, g4);
            if (bIh is not null) bIh.Span.CopyTo(row); else row.Clear();
            if (bHh is not null) TensorPrimitives.Add(row, bHh.Span, row);
        }
        Sgemm.Multiply(false, true, b * t, g4, inF, x.Span, inF, wIh.Span, inF, gs, g4, beta: 1f);
        var c = Tensor.Uninitialized(b, t, h);   // cell states, kept for backward
        var y = Tensor.Uninitialized(b, t, h);   // hidden states = output
        var cs = c.Span; var ys = y.Span;
        for (int s = 0; s < t; s++)
        {
            int step = reverse ? t - 1 - s : s, prev = reverse ? step + 1 : step - 1;
            bool hasPrev = s > 0;
            // gates_t[B, 4H] += h_prev[B, H] · W_hhᵀ   (rows are T apart)
            if (hasPrev) Sgemm.Multiply(false, true, b, g4, h, ys[(prev * h)..], t * h, wHh.Span, h, gs[(step * g4)..], t * g4, beta: 1f);
            for (int bi = 0; bi < b; bi++)
            {
                var gt = gs.Slice((bi * t + step) * g4, g4);
                TensorPrimitives.Sigmoid(gt[..(2 * h)], gt[..(2 * h)]);          // i, f
                TensorPrimitives.Tanh(gt.Slice(2 * h, h), gt.Slice(2 * h, h));     // g
                TensorPrimitives.Sigmoid(gt.Slice(3 * h, h), gt.Slice(3 * h, h));  // o
                var ct = cs.Slice((bi * t + step) * h, h); var ht = ys.Slice((bi * t + step) * h, h);
                for (int j = 0; j < h; j++)
                {
                    float cPrev = hasPrev ? cs[(bi * t + prev) * h + j] : 0f;
                    float cv = gt[h + j] * cPrev + gt[j] * gt[2 * h + j];
                    ct[j] = cv;
                    ht[j] = gt[3 * h + j] * MathF.Tanh(cv);
                }
            }
        }
        if (Tape.Needs(x, wIh, wHh) || (Tape.IsEnabled && ((bIh?.RequiresGrad ?? false) || (bHh?.RequiresGrad ?? false))))
            Tape.Record(new LstmNode(x, wIh, wHh, bIh, bHh, reverse, gates, c), y);
        return y;
    }

    sealed class LstmNode(Tensor x, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, bool reverse, Tensor gates, Tensor c) : Node
    {
        // Per step, with dh = dy_t + (recurrent part from the later step) and dc carried back:
        //   tc = tanh(c_t);  do = dh·tc;  dc += dh·o·(1 − tc²);  di = dc·g;  dg = dc·i;  df = dc·c_prev;  dc_prev = dc·f
        //   pre-activation grads: di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o)  → dgates_t;  dh_prev += dgates_t·W_hh
        // After the loop: dx = dgates·W_ih, dW_ih = dgatesᵀ·x, dW_hh = dgatesᵀ·h_prev, db = Σ dgates.
        protected internal override void Backward()
        {
            int b = x.Shape[0], t = x.Shape[1], inF = x.Shape[2], h = wHh.Shape[1], g4 = 4 * h;
            var y = Output; var ys = y.Span; var gs = gates.Span; var cs = c.Span;
            var dH = Output.Grad!.Clone(); var dh = dH.Span;                 // [B, T, H], grows with recurrent grads
            var dGates = Tensor.Uninitialized(b, t, g4); var dg = dGates.Span;
            var dcNext = new float[b * h];
            for (int s = t - 1; s >= 0; s--)
            {
                int step = reverse ? t - 1 - s : s, prev = reverse ? step + 1 : step - 1;
                bool hasPrev = s > 0;
                for (int bi = 0; bi < b; bi++)
                {
                    var gt = gs.Slice((bi * t + step) * g4, g4); var dgt = dg.Slice((bi * t + step) * g4, g4);
                    for (int j = 0; j < h; j++)
                    {
                        float i = gt[j], f = gt[h + j], gg = gt[2 * h + j], o = gt[3 * h + j];
                        float cv = cs[(bi * t + step) * h + j], tc = MathF.Tanh(cv);
                        float dhv = dh[(bi * t + step) * h + j];
                        float dc = dcNext[bi * h + j] + dhv * o * (1f - tc * tc);
                        float cPrev = hasPrev ? cs[(bi * t + prev) * h + j] : 0f;
                        dgt[j] = dc * gg * i * (1f - i);
                        dgt[h + j] = dc * cPrev * f * (1f - f);
                        dgt[2 * h + j] = dc * i * (1f - gg * gg);
                        dgt[3 * h + j] = dhv * tc * o * (1f - o);
                        dcNext[bi * h + j] = dc * f;
                    }
                }
                // dh_prev[B, H] += dgates_t[B, 4H] · W_hh[4H, H]
                if (hasPrev) Sgemm.Multiply(false, false, b, h, g4, dg[(step * g4)..], t * g4, wHh.Span, h, dh[(prev * h)..], t * h, beta: 1f);
            }
            if (x.RequiresGrad) Sgemm.Multiply(false, false, b * t, inF, g4, dg, g4, wIh.Span, inF, x.GradSpan(), inF, beta: 1f);
            if (wIh.RequiresGrad) Sgemm.Multiply(true, false, g4, inF, b * t, dg, g4, x.Span, inF, wIh.GradSpan(), inF, beta: 1f);
            if (wHh.RequiresGrad)
            {
                // h_prev[B, T, H]: the hidden state each step received (zero at the first step)
                var hPrev = Tensor.Zeros(b, t, h); var hp = hPrev.Span;
                for (int bi = 0; bi < b; bi++)
                    for (int s = 1; s < t; s++)
                    {
                        int step = reverse ? t - 1 - s : s, prev = reverse ? step + 1 : step - 1;
                        ys.Slice((bi * t + prev) * h, h).CopyTo(hp.Slice((bi * t + step) * h, h));
                    }
                Sgemm.Multiply(true, false, g4, h, b * t, dg, g4, hp, h, wHh.GradSpan(), h, beta: 1f);
            }
            foreach (var bias in new[] { bIh, bHh })
            {
                if (bias is null || !bias.RequiresGrad) continue;
                var db = bias.GradSpan();
                RowSum.AddTo(dg, b * t, g4, db);
            }
        }
    }
}
