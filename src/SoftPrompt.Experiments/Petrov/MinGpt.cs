using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The trainable minGPT-style language model of the Petrov et al. experiments, in GPT-2's architecture
/// and with GPT-2's parameter names (wte, wpe, h.{i}.ln_1/attn.c_attn/attn.c_proj/ln_2/mlp.c_fc/mlp.c_proj, ln_f,
/// lm_head), so <see cref="Gpt2Export"/> only transposes Linear weights into HF's Conv1D layout.
/// x = drop(wte[ids] + wpe[0..T)) (ids start with the config's P zero pads) → blocks → ln_f → head. Initialisation is minGPT's: Linear and Embedding
/// weights N(0, 0.02²), biases 0, LayerNorms 1/0, and each residual projection (attn.c_proj, mlp.c_proj)
/// N(0, (0.02/√(2·n_layer))²).
/// </summary>
public sealed class MinGpt : Module
{
    const float InitStd = 0.02f;

    public MinGptConfig Config { get; }

    /// <summary>Draws every dropout mask; its state belongs in a checkpoint for exact resume.</summary>
    public Rng DropoutRng { get; }

    public Embedding Wte { get; }   // [V, d]
    public Embedding Wpe { get; }   // [n_positions, d]
    public ModuleList<MinGptBlock> H { get; }
    public LayerNorm LnF { get; }
    /// <summary>The untied head [V, d], no bias; null when the head is tied to wte.</summary>
    public Linear? LmHead { get; }

    public MinGpt(MinGptConfig config, ulong seed)
    {
        config.Validate();
        Config = config;
        var init = new Rng(seed);
        DropoutRng = new Rng(seed ^ 0xD50_0D50UL);
        Wte = RegisterModule("wte", new Embedding(config.VocabSize, config.Dim, init));
        Wpe = RegisterModule("wpe", new Embedding(config.MaxPositions, config.Dim, init));
        H = RegisterModule("h", new ModuleList<MinGptBlock>(Enumerable.Range(0, config.Layers).Select(_ => new MinGptBlock(config, init, DropoutRng))));
        LnF = RegisterModule("ln_f", new LayerNorm(config.Dim));
        if (!config.TiedHead) LmHead = RegisterModule("lm_head", new Linear(config.Dim, config.VocabSize, init, bias: false));
        InitLikeMinGpt(init);
    }

    void InitLikeMinGpt(Rng rng)
    {
        foreach (var (name, p) in NamedParameters())
        {
            bool residualProjection = name.EndsWith("c_proj.weight", StringComparison.Ordinal);
            if (name.Contains("ln_", StringComparison.Ordinal)) continue;       // LayerNorms keep 1 / 0
            if (name.EndsWith(".bias", StringComparison.Ordinal)) Init.Zeros(p);
            else Init.Normal(p, rng, 0f, residualProjection ? InitStd / MathF.Sqrt(2f * Config.Layers) : InitStd);
        }
    }

    // ids: B·T token ids (T ≤ n_positions) -> final hidden states [B, T - firstOutput, d] at positions firstOutput…T-1
    // (the last block runs its queries, projection and MLP only there; keys and values cover every position)
    public Tensor ForwardHidden(ReadOnlySpan<int> ids, int batch, int seq, int firstOutput = 0)
    {
        if (firstOutput < 0 || firstOutput >= seq) throw new ArgumentOutOfRangeException(nameof(firstOutput), $"MinGpt: first output {firstOutput} outside a sequence of {seq}.");
        if (ids.Length != batch * seq) throw new ArgumentException($"MinGpt: {ids.Length} ids for batch {batch} × sequence {seq}.");
        if (seq > Config.MaxPositions) throw new ArgumentException($"MinGpt: sequence {seq} exceeds n_positions {Config.MaxPositions}.");
        var positions = new int[seq];
        for (int i = 0; i < seq; i++) positions[i] = i;
        var x = F.Add(Wte.Forward(ids, batch, seq), Wpe.Forward(positions, seq));   // [B, T, d] + [T, d]
        x = F.Dropout(x, Config.Dropout, DropoutRng, IsTraining);
        for (int i = 0; i < H.Count; i++) x = H[i].Forward(x, i == H.Count - 1 ? firstOutput : 0);
        return LnF.Forward(x);
    }

    // hidden: [.., d] -> logits [.., V]
    public Tensor Head(Tensor hidden) => LmHead is null ? F.Linear(hidden, Wte.Weight) : LmHead.Forward(hidden);

    // ids: B·T -> logits [B, T, V]
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int seq) => Head(ForwardHidden(ids, batch, seq));

    /// <summary>Mean cross-entropy over the batch's output predictions (10 a row) -> [].</summary>
    public Tensor Loss(PetrovBatch batch)
    {
        if (batch.Padding != Config.PrefixPadding) throw new ArgumentException($"MinGpt: a batch with {batch.Padding} pad positions for a model pretrained with {Config.PrefixPadding}.");
        var logits = Head(ForwardHidden(batch.Inputs, batch.Rows, batch.SequenceLength, batch.FirstOutput));   // [B, 10, V]
        return F.CrossEntropy(F.Reshape(logits, batch.Rows * PetrovBatch.Outputs, Config.VocabSize), batch.Targets, reuseLogitsForGrad: true);
    }

    /// <summary>
    /// minGPT's weight-decay rule: Linear weights decay; biases, LayerNorm and Embedding weights do not
    /// (a tied head is wte, so it does not decay either).
    /// </summary>
    public (IReadOnlyList<Tensor> Decay, IReadOnlyList<Tensor> NoDecay) WeightDecayGroups()
    {
        var decay = new List<Tensor>();
        Collect(this, decay);
        var set = new HashSet<Tensor>(decay, ReferenceEqualityComparer.Instance);
        return (decay, [.. Parameters().Where(p => !set.Contains(p))]);

        static void Collect(Module m, List<Tensor> into)
        {
            if (m is Linear l) into.Add(l.Weight);
            foreach (var (_, child) in m.NamedChildren()) Collect(child, into);
        }
    }
}
