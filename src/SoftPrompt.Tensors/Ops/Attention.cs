using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Scaled-dot-product attention as one fused op, the shape every prompt method needs:
/// causal over the content, an optional per-row key/value prefix of length P that every query
/// sees, a padding mask, grouped-query heads, and the probabilities kept (and returned for
/// analysis). Heads stay interleaved in the rows ([B,T,H·hd], as the projections produce them),
/// so no transpose copies are made; each (batch row, kv head) is one parallel task that runs
/// small single-threaded GEMMs.
/// </summary>
/// <summary>Dropout on attention probabilities: probability <paramref name="P"/>, mask drawn from <paramref name="Key"/> (one key a call).</summary>
public readonly record struct AttentionDropout(float P, ulong Key);

public static partial class Functional
{
    // q: [B, Tq, H·hd], k, v: [B, Tk, Hkv·hd], prefixKey/prefixValue: [B, P, Hkv·hd],
    // mask: B·Tk or B·(P+Tk) ints (1 = may be attended; the first P of a row refer to the prefix)
    //   -> [B, Tq, H·hd]
    // Query i sits at content position i + (Tk - Tq) (keys before it are a cached past) and, if
    // causal, sees content keys j ≤ that position. A query that can see no key outputs zeros.
    // keyLength: only the first keyLength of the k/v rows are keys (Tk = keyLength); the rest is
    // unused capacity, so a cache can grow in place without copying its past every step.
    // dropout: minGPT's attn_pdrop — the probabilities that weight the values are dropped (inverted, a counter-based
    // mask as Dropout's, recomputed in backward); the softmax and the returned probabilities are not.
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, int kvHeads,
        Tensor? prefixKey = null, Tensor? prefixValue = null, int[]? mask = null, bool causal = true, float? scale = null, int? keyLength = null,
        AttentionDropout? dropout = null)
        => AttentionCore(q, k, v, heads, kvHeads, prefixKey, prefixValue, mask, causal, scale, keyLength, dropout, keepProbs: false).Output;

    /// <summary>As <see cref="Attention"/>, also returning the probabilities [B, H, Tq, P+Tk] (not part of the graph).</summary>
    public static (Tensor Output, Tensor Probs) AttentionWithProbs(Tensor q, Tensor k, Tensor v, int heads, int kvHeads,
        Tensor? prefixKey = null, Tensor? prefixValue = null, int[]? mask = null, bool causal = true, float? scale = null, int? keyLength = null)
    {
        var (o, p) = AttentionCore(q, k, v, heads, kvHeads, prefixKey, prefixValue, mask, causal, scale, keyLength, null, keepProbs: true);
        return (o, p.Detach());
    }

    sealed record AttentionShape(int B, int Tq, int Tk, int P, int H, int Hkv, int Hd, float Scale, bool Causal, int[]? Mask, int KvCapacity,
        AttentionDropout? Dropout = null)
    {
        public int L => P + Tk;                 // keys a query row scores
        public int Group => H / Hkv;            // query heads per kv head
        public int QRow => H * Hd;              // row stride of q and the output
        public int KvRow => Hkv * Hd;           // row stride of k, v and the prefix
        public bool MaskCoversPrefix => Mask is not null && Mask.Length == B * L;
    }

    static (Tensor Output, Tensor Probs) AttentionCore(Tensor q, Tensor k, Tensor v, int heads, int kvHeads,
        Tensor? prefixKey, Tensor? prefixValue, int[]? mask, bool causal, float? scale, int? keyLength, AttentionDropout? dropout, bool keepProbs)
    {
        const string op = "Attention";
        ShapeCheck.Rank(op, q, 3, "query"); ShapeCheck.Rank(op, k, 3, "key"); ShapeCheck.Rank(op, v, 3, "value");
        ShapeCheck.Same(op, k, v);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new ArgumentException($"{op}: {heads} query heads cannot be grouped over {kvHeads} key/value heads.");
        int b = q.Shape[0], tq = q.Shape[1], tk = keyLength ?? k.Shape[1];
        if (tk < 0 || tk > k.Shape[1]) throw ShapeCheck.Fail(op, $"key length {tk} is outside the {k.Shape[1]} key rows", q, k);
        if (q.Shape[2] % heads != 0) throw ShapeCheck.Fail(op, $"query width is not divisible by {heads} heads", q);
        int hd = q.Shape[2] / heads;
        if (k.Shape[0] != b || k.Shape[2] != kvHeads * hd)
            throw ShapeCheck.Fail(op, $"key must be [{b}, T, {kvHeads}·{hd}]", q, k);
        if (tk < tq) throw ShapeCheck.Fail(op, "fewer keys than queries", q, k);
        int p = 0;
        if ((prefixKey is null) != (prefixValue is null)) throw new ArgumentException($"{op}: a prefix needs both keys and values.");
        if (prefixKey is not null)
        {
            ShapeCheck.Same(op + " prefix", prefixKey, prefixValue!);
            if (prefixKey.Rank != 3 || prefixKey.Shape[0] != b || prefixKey.Shape[2] != kvHeads * hd)
                throw ShapeCheck.Fail(op, $"prefix must be [{b}, P, {kvHeads}·{hd}]", k, prefixKey);
            p = prefixKey.Shape[1];
        }
        if (mask is not null && mask.Length != b * tk && mask.Length != b * (p + tk))
            throw new ShapeMismatchException($"{op}: mask has {mask.Length} entries; expected B·T = {b * tk} or B·(P+T) = {b * (p + tk)} for query {Tensor.Format(q.Shape)}, key {Tensor.Format(k.Shape)}, prefix length {p}.");
        if (dropout is { P: < 0f or >= 1f } bad) throw new ArgumentOutOfRangeException(nameof(dropout), $"{op}: dropout probability must be in [0, 1), got {bad.P}.");
        var s = new AttentionShape(b, tq, tk, p, heads, kvHeads, hd, scale ?? 1f / MathF.Sqrt(hd), causal, mask, k.Shape[1], dropout is { P: > 0f } ? dropout : null);

        using var clock = OpClock.Time(OpClock.Kind.Attention);
        var output = Tensor.Uninitialized(b, tq, heads * hd);
        bool record = Tape.IsEnabled && (q.RequiresGrad || k.RequiresGrad || v.RequiresGrad || (prefixKey?.RequiresGrad ?? false) || (prefixValue?.RequiresGrad ?? false));
        // Decoding asks for a new key length every step; pooled buffers are kept by exact length, so probabilities that
        // nobody reads afterwards go to this thread's scratch instead of a fresh pinned array a step.
        var probs = record || keepProbs ? Tensor.Uninitialized(b, heads, tq, s.L) : ProbsScratch(b, heads, tq, s.L);
        long cost = 4L * s.Group * tq * s.L * hd;
        if (tq == 1 && s.Dropout is null) DecodeRuns(s, q, k, v, prefixKey, prefixValue, probs, output);
        else RowParallel.For(b * kvHeads, cost, (start, end) =>
        {
            for (int task = start; task < end; task++) AttentionForwardTask(s, task, q, k, v, prefixKey, prefixValue, probs, output);
        });
        if (record)
            Tape.Record(new AttentionNode(s, q, k, v, prefixKey, prefixValue, probs), output);
        return (output, probs);
    }

    /// <summary>Offsets of head h's rows for batch row b: q/out, k/v, prefix, probs.</summary>
    static (int Q, int Kv, int Prefix, int Probs) HeadOffsets(AttentionShape s, int b, int h)
    {
        int hkv = h / s.Group;
        return (b * s.Tq * s.QRow + h * s.Hd, b * s.KvCapacity * s.KvRow + hkv * s.Hd, b * s.P * s.KvRow + hkv * s.Hd, (b * s.H + h) * s.Tq * s.L);
    }

    static void AttentionForwardTask(AttentionShape s, int task, Tensor q, Tensor k, Tensor v, Tensor? pk, Tensor? pv, Tensor probs, Tensor output)
    {
        int b = task / s.Hkv, hkv = task % s.Hkv;
        for (int g = 0; g < s.Group; g++)
        {
            int h = hkv * s.Group + g;
            var off = HeadOffsets(s, b, h);
            var sc = probs.Span.Slice(off.Probs, s.Tq * s.L);
            // S[Tq, L] = scale · Q[Tq, hd] · [Kp; K]ᵀ
            if (s.P > 0) Sgemm.Multiply(false, true, s.Tq, s.P, s.Hd, q.Span[off.Q..], s.QRow, pk!.Span[off.Prefix..], s.KvRow, sc, s.L, alpha: s.Scale);
            Sgemm.Multiply(false, true, s.Tq, s.Tk, s.Hd, q.Span[off.Q..], s.QRow, k.Span[off.Kv..], s.KvRow, sc[s.P..], s.L, alpha: s.Scale);
            for (int i = 0; i < s.Tq; i++)
            {
                var row = sc.Slice(i * s.L, s.L);
                if (s.Mask is not null)
                {
                    MaskRow(s, b, i, row);
                    SoftmaxRow(row, row);
                    continue;
                }
                // Causal only: the keys past the query's position get probability 0 without being scored into the softmax.
                int visible = Visible(s, i);
                ShortSoftmax(row[..visible]);
                row[visible..].Clear();
            }
            // O[Tq, hd] = P[:, :P] · Vp + P[:, P:] · V, P dropped when training with attention dropout
            var pw = Dropped(s, off.Probs, sc);
            var o = output.Span[off.Q..];
            if (s.P > 0) Sgemm.Multiply(false, false, s.Tq, s.Hd, s.P, pw, s.L, pv!.Span[off.Prefix..], s.KvRow, o, s.QRow);
            Sgemm.Multiply(false, false, s.Tq, s.Hd, s.Tk, pw[s.P..], s.L, v.Span[off.Kv..], s.KvRow, o, s.QRow, beta: s.P > 0 ? 1f : 0f);
        }
    }

    /// <summary>
    /// Decoding (one query a row): each task takes a run of one batch row's cached positions and scores every head at
    /// each position (HeadRows), so it streams whole cache rows in order; a pass per head (256 bytes of each 3 KB
    /// row) or per half of the heads lost the prefetcher and ran 1.2–2.5× slower. Each run keeps its own softmax
    /// (its maximum, its sum, its partial weighted sum of values) and a row's runs are merged afterwards, as
    /// flash-decoding does; the merge also turns the scores into the probabilities. A row is cut into one run a
    /// thread when the batch is smaller than the pool, each of at least 32 positions. Keys a row's padding hides get
    /// probability 0 and their values are not read. The same arithmetic as the general path up to the order of the
    /// sums (float rounding).
    /// </summary>
    static void DecodeRuns(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor? pk, Tensor? pv, Tensor scores, Tensor output)
    {
        int runs = DecodeRunsPerRow ?? Math.Clamp(WorkerPool.ThreadCount / s.B, 1, Math.Max(1, s.L / 32));
        int h = s.H, part = 2 * h + h * s.Hd;   // a run's partial: max[H], sum[H], o[H·hd]
        var partials = DecodeScratch(s.B * runs * part);
        long work = (long)s.B * s.H * s.L * s.Hd;
        int tasks = work < 65_536 ? 1 : s.B * runs;
        RowParallel.ForTasks(tasks, task =>
        {
            int first = tasks == 1 ? 0 : task, last = tasks == 1 ? s.B * runs : task + 1;
            for (int t = first; t < last; t++)
            {
                int b = t / runs;
                var (j0, j1) = WorkerPool.Chunk(t % runs, runs, s.L);
                DecodeRun(s, b, j0, j1, q, k, v, pk, pv, scores, partials.AsSpan(t * part, part));
            }
        });
        for (int b = 0; b < s.B; b++)
            MergeRuns(s, partials.AsSpan(b * runs * part, runs * part), runs, output.Span.Slice(b * s.QRow, s.QRow), scores.Span.Slice(b * s.H * s.L, s.H * s.L));
    }

    // batch row b, positions [j0, j1) of its P + Tk keys -> partial = max[H] | sum[H] | o[H·hd] (o unnormalised, relative to max)
    static void DecodeRun(AttentionShape s, int b, int j0, int j1, Tensor q, Tensor k, Tensor v, Tensor? pk, Tensor? pv, Tensor scores, Span<float> partial)
    {
        var query = q.Span.Slice(b * s.QRow, s.QRow);
        var sc = scores.Span.Slice(b * s.H * s.L, s.H * s.L);
        var rows = new HeadRows.Layout(s.Hkv, s.Group, s.Hd, s.KvRow, s.L);
        int p0 = Math.Min(j0, s.P), p1 = Math.Min(j1, s.P), t0 = Math.Max(j0, s.P) - s.P, t1 = Math.Max(j1, s.P) - s.P;   // prefix [p0, p1), text [t0, t1)
        int prefix = b * s.P * s.KvRow, kv = b * s.KvCapacity * s.KvRow;
        if (p1 > p0) HeadRows.Dots(rows, query, pk!.Span[(prefix + p0 * s.KvRow)..], s.Scale, sc, p0, p1 - p0);
        if (t1 > t0) HeadRows.Dots(rows, query, k.Span[(kv + t0 * s.KvRow)..], s.Scale, sc, s.P + t0, t1 - t0);
        if (s.Mask is not null)
        {
            ReadOnlySpan<int> mask = s.MaskCoversPrefix ? s.Mask.AsSpan(b * s.L, s.L) : s.Mask.AsSpan(b * s.Tk, s.Tk);
            int shift = s.MaskCoversPrefix ? 0 : s.P;   // a text-only mask's index of key j is j - P
            for (int j = Math.Max(j0, shift); j < j1; j++)
                if (mask[j - shift] == 0)
                    for (int h = 0; h < s.H; h++) sc[h * s.L + j] = float.NegativeInfinity;
        }
        var max = partial[..s.H];
        var sum = partial.Slice(s.H, s.H);
        var o = partial[(2 * s.H)..];
        for (int h = 0; h < s.H; h++)
        {
            var row = sc.Slice(h * s.L + j0, j1 - j0);
            float m = TensorPrimitives.Max(row);
            max[h] = m;
            if (float.IsNegativeInfinity(m)) { row.Clear(); sum[h] = 0f; continue; }
            TensorPrimitives.Subtract(row, m, row);
            TensorPrimitives.Exp(row, row);
            sum[h] = TensorPrimitives.Sum(row);
        }
        o.Clear();
        if (p1 > p0) HeadRows.WeightedSum(rows, sc, p0, p1 - p0, pv!.Span[(prefix + p0 * s.KvRow)..], o);
        if (t1 > t0) HeadRows.WeightedSum(rows, sc, s.P + t0, t1 - t0, v.Span[(kv + t0 * s.KvRow)..], o);
    }

    // partials: runs × (max[H] | sum[H] | o[H·hd]) of one row -> out [H·hd] = Σ_r e^(max_r - M) o_r / Σ_r e^(max_r - M) sum_r per head
    // (zeros if no key is visible); scores [H, L], each run's exponentials, become the probabilities
    static void MergeRuns(AttentionShape s, ReadOnlySpan<float> partials, int runs, Span<float> output, Span<float> scores)
    {
        int h = s.H, part = 2 * h + h * s.Hd;
        Span<float> weights = stackalloc float[runs];
        for (int head = 0; head < h; head++)
        {
            float m = float.NegativeInfinity;
            for (int r = 0; r < runs; r++) m = MathF.Max(m, partials[r * part + head]);
            var o = output.Slice(head * s.Hd, s.Hd);
            o.Clear();
            if (float.IsNegativeInfinity(m)) { scores.Slice(head * s.L, s.L).Clear(); continue; }
            float total = 0f;
            for (int r = 0; r < runs; r++)
            {
                float rm = partials[r * part + head];
                weights[r] = float.IsNegativeInfinity(rm) ? 0f : MathF.Exp(rm - m);
                total += weights[r] * partials[r * part + h + head];
            }
            for (int r = 0; r < runs; r++)
            {
                float w = weights[r] / total;
                if (w != 0f) TensorPrimitives.MultiplyAdd(partials.Slice(r * part + 2 * h + head * s.Hd, s.Hd), w, o, o);
                var (j0, j1) = WorkerPool.Chunk(r, runs, s.L);
                var p = scores.Slice(head * s.L + j0, j1 - j0);
                TensorPrimitives.Multiply(p, w, p);
            }
        }
    }

    /// <summary>Runs a decoding row is cut into, instead of one a thread (tests: the merge must not depend on the pool's size).</summary>
    internal static int? DecodeRunsPerRow;

    [ThreadStatic] static float[]? _decodeScratch;

    static float[] DecodeScratch(int n)
    {
        var a = _decodeScratch;
        if (a is null || a.Length < n) _decodeScratch = a = new float[Math.Max(n, 2 * (a?.Length ?? 0))];
        return a;
    }

    /// <summary>Keys query i may see without a padding mask: the prefix and content up to its position (causal), or all.</summary>
    static int Visible(AttentionShape s, int i) => s.Causal ? Math.Min(s.L, s.P + s.Tk - s.Tq + i + 1) : s.L;

    const int ShortRow = 64;

    /// <summary>
    /// x ← softmax(x) in one fused pass per step for rows of at most 64 (attention over a short sequence: 5 primitive
    /// calls cost more than the arithmetic there), over a copy padded to whole vectors with -∞; longer rows take
    /// <see cref="SoftmaxRow"/>.
    /// </summary>
    static void ShortSoftmax(Span<float> x)
    {
        int n = x.Length;
        if (n > ShortRow || !Vector256.IsHardwareAccelerated) { SoftmaxRow(x, x); return; }
        int vectors = (n + 7) / 8;
        Span<float> buf = stackalloc float[ShortRow];
        x.CopyTo(buf);
        buf[n..(vectors * 8)].Fill(float.NegativeInfinity);
        ref float br = ref MemoryMarshal.GetReference(buf);
        var max = Vector256.LoadUnsafe(ref br);
        for (int v = 1; v < vectors; v++) max = Vector256.Max(max, Vector256.LoadUnsafe(ref br, (nuint)(v * 8)));
        float m = float.NegativeInfinity;
        for (int l = 0; l < 8; l++) m = MathF.Max(m, max[l]);
        var vm = Vector256.Create(m);
        var sum = Vector256<float>.Zero;
        for (int v = 0; v < vectors; v++)
        {
            var e = Vector256.Exp(Vector256.LoadUnsafe(ref br, (nuint)(v * 8)) - vm);
            e.StoreUnsafe(ref br, (nuint)(v * 8));
            sum += e;
        }
        var inv = Vector256.Create(1f / Vector256.Sum(sum));
        int j = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        for (; j + 8 <= n; j += 8) (Vector256.LoadUnsafe(ref br, (nuint)j) * inv).StoreUnsafe(ref xr, (nuint)j);
        for (; j < n; j++) x[j] = buf[j] * inv[0];
    }

    /// <summary>Sets the scores of keys query i may not see to -∞ (causal limit, padding).</summary>
    static void MaskRow(AttentionShape s, int b, int i, Span<float> row)
    {
        int past = s.Tk - s.Tq;
        if (s.Causal) row[(s.P + past + i + 1)..].Fill(float.NegativeInfinity);
        if (s.Mask is null) return;
        if (s.MaskCoversPrefix)
        {
            var m = s.Mask.AsSpan(b * s.L, s.L);
            for (int j = 0; j < s.L; j++) if (m[j] == 0) row[j] = float.NegativeInfinity;
        }
        else
        {
            var m = s.Mask.AsSpan(b * s.Tk, s.Tk);
            for (int j = 0; j < s.Tk; j++) if (m[j] == 0) row[s.P + j] = float.NegativeInfinity;
        }
    }

    /// <summary>probs (one head's [Tq, L], at offset first of the probabilities tensor) as they weight the values: themselves, or dropped into scratch.</summary>
    static ReadOnlySpan<float> Dropped(AttentionShape s, int first, ReadOnlySpan<float> probs)
    {
        if (s.Dropout is not { } d) return probs;
        var scratch = AttentionDropScratch(probs.Length);
        DropoutMask.Apply(probs, scratch, (uint)first, d.Key, d.P, accumulate: false);
        return scratch;
    }

    [ThreadStatic] static float[]? _attentionDropScratch;

    static Span<float> AttentionDropScratch(int n)
    {
        var a = _attentionDropScratch;
        if (a is null || a.Length < n) _attentionDropScratch = a = new float[n];
        return a.AsSpan(0, n);
    }

    [ThreadStatic] static float[]? _attentionScratch;

    [ThreadStatic] static float[]? _probsScratch;

    /// <summary>A [b, h, tq, l] tensor over this thread's scratch (not pooled, not tracked): probabilities used only inside the op.</summary>
    static Tensor ProbsScratch(int b, int h, int tq, int l)
    {
        int n = checked(b * h * tq * l);
        var a = _probsScratch;
        if (a is null || a.Length < n) _probsScratch = a = GC.AllocateUninitializedArray<float>(Math.Max(n, (a?.Length ?? 0) * 2), pinned: true);
        return new Tensor([b, h, tq, l], a, 0, ownsBuffer: false);
    }

    sealed class AttentionNode(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor? pk, Tensor? pv, Tensor probs) : Node
    {
        // With S = scale·Q·Kᵀ, P = softmax(S), O = P̃·V (P̃ = P, or P dropped: P ⊙ M/(1-p)):
        // dP̃ = dO·Vᵀ;  dP = dP̃ (⊙ M/(1-p));  dS = P ⊙ (dP - rowsum(dP ⊙ P));  dQ = scale·dS·K;  dK = scale·dSᵀ·Q;  dV = P̃ᵀ·dO
        // (each split into its prefix columns and its content columns). One task per (b, kv head) owns
        // that head's dK/dV rows, so grouped query heads accumulate without races.
        protected internal override void Backward()
        {
            var dO = Output.Grad!;
            var dq = q.RequiresGrad ? q.GradSpanTensor() : null;
            var dk = k.RequiresGrad ? k.GradSpanTensor() : null;
            var dv = v.RequiresGrad ? v.GradSpanTensor() : null;
            var dpk = pk is not null && pk.RequiresGrad ? pk.GradSpanTensor() : null;
            var dpv = pv is not null && pv.RequiresGrad ? pv.GradSpanTensor() : null;
            long cost = 8L * s.Group * s.Tq * s.L * s.Hd;
            RowParallel.For(s.B * s.Hkv, cost, (start, end) =>
            {
                var scratch = _attentionScratch;
                if (scratch is null || scratch.Length < s.Tq * s.L) _attentionScratch = scratch = new float[s.Tq * s.L];
                for (int task = start; task < end; task++) BackwardTask(task, dO, dq, dk, dv, dpk, dpv, scratch.AsSpan(0, s.Tq * s.L));
            });
        }

        void BackwardTask(int task, Tensor dO, Tensor? dq, Tensor? dk, Tensor? dv, Tensor? dpk, Tensor? dpv, Span<float> dS)
        {
            int b = task / s.Hkv, hkv = task % s.Hkv;
            int P = s.P, L = s.L;
            for (int g = 0; g < s.Group; g++)
            {
                int h = hkv * s.Group + g;
                var off = HeadOffsets(s, b, h);
                var pr = probs.Span.Slice(off.Probs, s.Tq * L);
                var dOh = dO.Span[off.Q..];
                // dP[Tq, L] = dO[Tq, hd] · [Vp; V]ᵀ
                if (P > 0) Sgemm.Multiply(false, true, s.Tq, P, s.Hd, dOh, s.QRow, pv!.Span[off.Prefix..], s.KvRow, dS, L);
                Sgemm.Multiply(false, true, s.Tq, s.Tk, s.Hd, dOh, s.QRow, v.Span[off.Kv..], s.KvRow, dS[P..], L);
                if (s.Dropout is { } d) DropoutMask.Apply(dS, dS, (uint)off.Probs, d.Key, d.P, accumulate: false);
                for (int i = 0; i < s.Tq; i++)
                {
                    // Without a padding mask, keys past the causal limit have probability 0, so their dS is 0.
                    int visible = s.Mask is null ? Visible(s, i) : L;
                    var pRow = pr.Slice(i * L, visible); var dRow = dS.Slice(i * L, visible);
                    float dot = TensorPrimitives.Dot(pRow, dRow);
                    TensorPrimitives.Subtract(dRow, dot, dRow);
                    TensorPrimitives.Multiply(dRow, pRow, dRow);
                    dS.Slice(i * L + visible, L - visible).Clear();
                }
                if (dq is not null)
                {
                    var dqh = dq.Span[off.Q..];
                    if (P > 0) Sgemm.Multiply(false, false, s.Tq, s.Hd, P, dS, L, pk!.Span[off.Prefix..], s.KvRow, dqh, s.QRow, alpha: s.Scale, beta: 1f);
                    Sgemm.Multiply(false, false, s.Tq, s.Hd, s.Tk, dS[P..], L, k.Span[off.Kv..], s.KvRow, dqh, s.QRow, alpha: s.Scale, beta: 1f);
                }
                var qh = q.Span[off.Q..];
                if (dk is not null) Sgemm.Multiply(true, false, s.Tk, s.Hd, s.Tq, dS[P..], L, qh, s.QRow, dk.Span[off.Kv..], s.KvRow, alpha: s.Scale, beta: 1f);
                var pw = dv is not null || (P > 0 && dpv is not null) ? Dropped(s, off.Probs, pr) : pr;
                if (dv is not null) Sgemm.Multiply(true, false, s.Tk, s.Hd, s.Tq, pw[P..], L, dOh, s.QRow, dv.Span[off.Kv..], s.KvRow, beta: 1f);
                if (P > 0 && dpk is not null) Sgemm.Multiply(true, false, P, s.Hd, s.Tq, dS, L, qh, s.QRow, dpk.Span[off.Prefix..], s.KvRow, alpha: s.Scale, beta: 1f);
                if (P > 0 && dpv is not null) Sgemm.Multiply(true, false, P, s.Hd, s.Tq, pw, L, dOh, s.QRow, dpv.Span[off.Prefix..], s.KvRow, beta: 1f);
            }
        }
    }
}
