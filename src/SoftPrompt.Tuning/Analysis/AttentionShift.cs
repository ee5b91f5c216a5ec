using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Analysis;

/// <summary>
/// One attention head's response to an adapter, averaged over the content queries of the data:
/// PrefixMass α — the attention the prefix (or the virtual tokens) takes; DirectChange — total-variation
/// distance between the head's attention over the content, renormalised, and the same layer input's
/// attention without the adapter (zero for prompt and prefix methods by Petrov et al.'s theorem);
/// TotalChange — the same distance to the plain model's run (on the text alone; for an attention-input prefix on the
/// same ids, its slots being pad positions the model was pretrained with), which earlier layers' outputs can move;
/// BiasRank — the numerical rank of the output bias the prefix adds (its span is at most the prefix length).
/// </summary>
public sealed record HeadShift(int Layer, int Head, double PrefixMass, double DirectChange, double TotalChange, int BiasRank);

public sealed record AttentionShiftReport(IReadOnlyList<HeadShift> Heads, string Verdict)
{
    public double MaxDirectChange => Heads.Max(h => h.DirectChange);
    public double MaxTotalChange => Heads.Max(h => h.TotalChange);
    public double MeanPrefixMass => Heads.Average(h => h.PrefixMass);
}

/// <summary>
/// The attention-shift diagnostic: runs the frozen model on prompts with and without an adapter
/// and measures, per layer and head, how the adapter moves attention (see <see cref="HeadShift"/>).
/// </summary>
public static class AttentionShift
{
    /// <summary>Direct changes below this are float rounding: the adapter does not re-weight the content.</summary>
    public const double Tolerance = 1e-5;

    public static AttentionShiftReport Analyze(ICausalLanguageModel model, TuningMethod method, IReadOnlyList<EncodedExample> prompts, int batchSize = 8)
    {
        if (prompts.Count == 0) throw new ArgumentException("Attention shift: no examples.");
        var c = model.Config;
        var acc = new Accumulator(c.Layers, c.Heads);
        using var noGrad = Tape.NoGrad();
        method.Eval();
        try
        {
            var output = method.Compute();
            bool keepsSlots = output.AttentionInputPrefix is not null;
            foreach (var chunk in prompts.Chunk(batchSize))
            {
                var batch = new Collator().Collate(chunk);
                var plan = output.Plan(chunk.Select(p => p.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))));
                var adapted = new Recorder(wantsBaseline: true);
                model.Forward(batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { Plan = plan, AttentionMask = batch.AttentionMask, AttentionObserver = adapted, OutputPositions = [0] });
                var plain = new Recorder(wantsBaseline: false);
                if (keepsSlots)
                {
                    // The plain model on the same ids: an attention-input prefix overwrites slots the model was
                    // pretrained with (Petrov et al.'s pad positions), which keep their positions; compared over the content.
                    model.Forward(batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { AttentionMask = batch.AttentionMask, AttentionObserver = plain, OutputPositions = [0] });
                    for (int l = 0; l < c.Layers; l++) acc.Add(adapted.Layers[l], plain.Layers[l], batch, batch.Seq, plainKeepsSlots: true);
                    continue;
                }
                // The plain model on the text alone: the virtual-token positions removed.
                var textRows = chunk.Select(p => p.Ids.Where((_, t) => !p.SoftSlots.Any(s => t >= s.Position && t < s.Position + s.Count)).ToArray()).ToArray();
                int seq = textRows.Max(r => r.Length);
                var ids = new int[chunk.Length * seq];
                var mask = new int[chunk.Length * seq];
                for (int b = 0; b < chunk.Length; b++) { textRows[b].CopyTo(ids, b * seq); mask.AsSpan(b * seq, textRows[b].Length).Fill(1); }
                model.Forward(ids, chunk.Length, seq, new ForwardOptions { AttentionMask = mask, AttentionObserver = plain, OutputPositions = [0] });
                for (int l = 0; l < c.Layers; l++) acc.Add(adapted.Layers[l], plain.Layers[l], batch, seq, plainKeepsSlots: false);
            }
        }
        finally { method.Train(); }
        var heads = acc.Results();
        return new AttentionShiftReport(heads, Verdict(method, heads));
    }

    static string Verdict(TuningMethod method, IReadOnlyList<HeadShift> heads)
    {
        double direct = heads.Max(h => h.DirectChange), total = heads.Max(h => h.TotalChange), mass = heads.Average(h => h.PrefixMass);
        var deltas = method.Compute().Deltas;
        if (direct <= Tolerance && deltas.Count > 0)
        {
            // A weight update that touches no query or key projection (e.g. LoRA on c_proj / c_fc) leaves each layer's
            // attention given its input as it was, like a prefix — but what it adds depends on the input, not a fixed bias.
            string modules = string.Join(", ", deltas.Select(d => LinearLayerInfo.Kind(d.Module)).Distinct());
            return $"{method.Name}: this adapter updates weights ({modules}) but no query or key projection, so each layer's attention over the content, " +
                $"given that layer's input, is unchanged; its updates depend on the input (not a fixed bias as a prefix's), and later layers attend differently " +
                $"through them (largest total change {total:F3}). Adapting c_attn (or q_proj / k_proj) would change the attention patterns themselves.";
        }
        if (direct <= Tolerance)
            return total <= Tolerance
                ? $"{method.Name}: this adapter only biases attention outputs (prefix mass {mass:F2}) and leaves every attention pattern over the content as it was; a task that needs new attention patterns will need LoRA or fine-tuning."
                : $"{method.Name}: this adapter only biases attention outputs (prefix mass {mass:F2}); within a layer the attention over the content is unchanged, and the largest change ({total:F3}) comes from earlier layers' biased outputs. It can elicit and combine skills the model has; a task needing new attention patterns will need LoRA or fine-tuning.";
        return $"{method.Name}: this adapter changes how layers attend over the content (largest direct change {direct:F3}), so it can learn new attention patterns.";
    }

    /// <summary>Keeps each layer's observation of one forward pass.</summary>
    sealed class Recorder(bool wantsBaseline) : IAttentionObserver
    {
        public readonly List<AttentionObservation> Layers = [];
        public bool WantsBaseline => wantsBaseline;
        public void Observe(AttentionObservation o) => Layers.Add(o with
        {
            Probs = Keep(o.Probs)!, Baseline = Keep(o.Baseline), Values = Keep(o.Values)!, PrefixValues = Keep(o.PrefixValues),
        });

        static Tensor? Keep(Tensor? t)
        {
            if (t is null) return null;
            var h = Tensor.ZerosOnHeap(t.Shape.ToArray());
            t.Span.CopyTo(h.Span);
            return h;
        }
    }

    /// <summary>Sums per (layer, head) over content queries, and collects the prefix's output-bias vectors for their rank.</summary>
    sealed class Accumulator(int layers, int heads)
    {
        readonly double[] _mass = new double[layers * heads], _direct = new double[layers * heads], _total = new double[layers * heads];
        readonly long[] _count = new long[layers * heads];
        readonly List<float[]>[] _bias = [.. Enumerable.Range(0, layers * heads).Select(_ => new List<float[]>())];

        // plainKeepsSlots: the plain run had the adapted run's ids and positions (its query q, keys renormalised over the
        // content); otherwise it had the content alone (query and keys by their index among the content).
        public void Add(AttentionObservation a, AttentionObservation plain, TokenBatch batch, int plainSeq, bool plainKeepsSlots)
        {
            int B = batch.Batch, T = batch.Seq, H = a.Heads, P = a.PrefixLength, L = P + T, group = a.Heads / a.KvHeads;
            int width = a.Values.Shape[2], hd = width / a.KvHeads, vRows = a.Values.Shape[1];
            var probs = a.Probs.Span; var baseline = a.Baseline!.Span; var plainProbs = plain.Probs.Span;
            for (int b = 0; b < B; b++)
            {
                // content positions of this row (real, not virtual tokens), and their index in the plain run
                var content = new List<int>();
                for (int t = 0; t < T; t++)
                    if (batch.AttentionMask[b * T + t] == 1 && (a.SoftKeys is null || a.SoftKeys[b * T + t] == 0)) content.Add(t);
                for (int h = 0; h < H; h++)
                {
                    int slot = a.Layer * H + h, hkv = h / group;
                    for (int qi = 0; qi < content.Count; qi++)
                    {
                        int q = content[qi];
                        var row = probs.Slice(((b * H + h) * T + q) * L, L);
                        double contentMass = 0;
                        for (int ki = 0; ki <= qi; ki++) contentMass += row[P + content[ki]];
                        double prefixMass = 1 - contentMass;
                        var baseRow = baseline.Slice(((b * H + h) * T + q) * T, T);
                        var plainRow = plainProbs.Slice(((b * H + h) * plainSeq + (plainKeepsSlots ? q : qi)) * plainSeq, plainSeq);
                        double plainMass = 1;
                        if (plainKeepsSlots) { plainMass = 0; for (int ki = 0; ki <= qi; ki++) plainMass += plainRow[content[ki]]; }
                        double direct = 0, total = 0;
                        for (int ki = 0; ki <= qi; ki++)
                        {
                            double renorm = contentMass > 0 ? row[P + content[ki]] / contentMass : 0;
                            direct += Math.Abs(renorm - baseRow[content[ki]]);
                            double plainP = plainKeepsSlots ? (plainMass > 0 ? plainRow[content[ki]] / plainMass : 0) : plainRow[ki];
                            total += Math.Abs(renorm - plainP);
                        }
                        _mass[slot] += prefixMass; _direct[slot] += direct / 2; _total[slot] += total / 2; _count[slot]++;
                        // the output bias: Σ over prefix-like keys of p·v (this head's slice of the values)
                        var bias = new float[hd];
                        for (int j = 0; j < P; j++)
                            for (int d = 0; d < hd; d++) bias[d] += row[j] * a.PrefixValues!.Span[(b * P + j) * width + hkv * hd + d];
                        if (a.SoftKeys is not null)
                            for (int t = 0; t <= q; t++)
                                if (a.SoftKeys[b * T + t] == 1)
                                    for (int d = 0; d < hd; d++) bias[d] += row[P + t] * a.Values.Span[(b * vRows + t) * width + hkv * hd + d];
                        if (prefixMass > 0) _bias[slot].Add(bias);
                    }
                }
            }
        }

        public List<HeadShift> Results()
        {
            var list = new List<HeadShift>();
            for (int i = 0; i < _count.Length; i++)
            {
                long n = Math.Max(1, _count[i]);
                list.Add(new HeadShift(i / heads, i % heads, _mass[i] / n, _direct[i] / n, _total[i] / n, NumericalRank(_bias[i])));
            }
            return list;
        }

        /// <summary>Rank by Gram–Schmidt with a tolerance relative to the largest vector.</summary>
        static int NumericalRank(List<float[]> vectors)
        {
            if (vectors.Count == 0) return 0;
            double scale = vectors.Max(v => Math.Sqrt(v.Sum(x => (double)x * x)));
            if (scale == 0) return 0;
            var basis = new List<double[]>();
            foreach (var v in vectors)
            {
                var r = v.Select(x => (double)x).ToArray();
                foreach (var e in basis)
                {
                    double dot = 0;
                    for (int d = 0; d < r.Length; d++) dot += r[d] * e[d];
                    for (int d = 0; d < r.Length; d++) r[d] -= dot * e[d];
                }
                double norm = Math.Sqrt(r.Sum(x => x * x));
                if (norm > 1e-4 * scale)
                {
                    for (int d = 0; d < r.Length; d++) r[d] /= norm;
                    basis.Add(r);
                    if (basis.Count == r.Length) break;
                }
            }
            return basis.Count;
        }
    }
}
