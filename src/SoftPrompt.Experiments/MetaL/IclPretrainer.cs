using System.Text.Json;
using System.Text.Json.Serialization;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Training;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>The target LM's pretraining settings: AdamW (minGPT's groups), a linear warmup then constant rate.</summary>
public sealed record IclPretrainOptions(
    [property: JsonPropertyName("steps")] int Steps = 8_000,
    [property: JsonPropertyName("batch_size")] int BatchSize = 32,
    [property: JsonPropertyName("shots")] int Shots = 8,
    [property: JsonPropertyName("lr")] double Lr = 1e-3,
    [property: JsonPropertyName("warmup")] int Warmup = 500,
    [property: JsonPropertyName("weight_decay")] double WeightDecay = 0.1,
    [property: JsonPropertyName("max_grad_norm")] float MaxGradNorm = 1f,
    [property: JsonPropertyName("seed")] ulong Seed = 2023,
    [property: JsonPropertyName("data_seed")] ulong DataSeed = 7,
    [property: JsonPropertyName("orders")] SymbolOrder[]? Orders = null,   // null: SymbolWorld.TrainOrders
    [property: JsonPropertyName("copy_share")] double CopyShare = 0,   // rows whose map is the identity: a copying curriculum
    [property: JsonPropertyName("sinusoidal_positions")] bool SinusoidalPositions = true,   // wpe starts as scaled sinusoids (see IclPretrainer)
    [property: JsonPropertyName("max_lead")] int MaxLead = 16);   // episodes start after 0…MaxLead random symbols (see IclBatch)

/// <summary>What an in-context pretraining checkpoint records besides its tensors.</summary>
public sealed record IclPretrainState(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("config")] MinGptConfig Config,
    [property: JsonPropertyName("options")] IclPretrainOptions Options,
    [property: JsonPropertyName("data_rng")] ulong[] DataRng,
    [property: JsonPropertyName("dropout_rng")] ulong[] DropoutRng,
    [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds);

/// <summary>
/// Pretrains the symbol world's target LM (a <see cref="MinGpt"/>) on in-context episodes of the training rules, so that
/// it learns to read a rule from demonstrations. Checkpoints (model, AdamW state, data and dropout streams) resume bit
/// for bit, so a run longer than a session goes on where it stopped.
/// </summary>
public sealed class IclPretrainer
{
    const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "pretrain_state.json";

    readonly Tensor[] _parameters;
    readonly Rng _data;

    public MinGpt Model { get; }
    public IclPretrainOptions Options { get; }
    public AdamW Optimizer { get; }
    public long Step { get; private set; }
    public double ElapsedSeconds { get; set; }

    /// <summary>The world's target: 4 layers, 4 heads, d = 128, 256 positions (8 shots and a query take 161; the rest leave room for a prompt), no dropout.</summary>
    public static MinGptConfig DefaultConfig => new(4, 4, 128, SymbolWorld.VocabSize, MaxPositions: 256, Dropout: 0f, TiedHead: true);

    readonly Func<Rng, SymbolRule>? _rules;

    /// <param name="rules">where each row's rule comes from (default: random training rules); not part of a checkpoint</param>
    public IclPretrainer(MinGptConfig config, IclPretrainOptions options, Func<Rng, SymbolRule>? rules = null)
    {
        _rules = rules;
        if (IclBatch.SequenceLength(options.Shots) + options.MaxLead > config.MaxPositions)
            throw new ArgumentException($"ICL pretraining: {options.Shots} shots after up to {options.MaxLead} lead symbols take {IclBatch.SequenceLength(options.Shots) + options.MaxLead} positions; the model has {config.MaxPositions}.");
        Options = options;
        Model = new MinGpt(config, options.Seed);
        if (options.SinusoidalPositions) InitSinusoidalPositions(Model.Wpe.Weight);
        Model.Train();
        _data = new Rng(options.DataSeed);
        var (decay, noDecay) = Model.WeightDecayGroups();
        Optimizer = new AdamW([new ParamGroup(decay, weightDecay: options.WeightDecay), new ParamGroup(noDecay, weightDecay: 0.0)], options.Lr, new AdamWOptions(0.9, 0.95), options.WeightDecay);
        _parameters = [.. Model.Parameters()];
    }

    /// <summary>
    /// wpe [n_positions, d] ← Vaswani et al.'s sinusoids, scaled to the norm of a token embedding (0.02·√d): a fixed
    /// offset is then one linear map of the position code, so the previous-token head an induction head stands on is
    /// there to be found from the first step. With minGPT's N(0, 0.02) positions a 4-layer target had not left the
    /// chance plateau for images after 3,300 steps (docs/metal.md).
    /// </summary>
    static void InitSinusoidalPositions(Tensor wpe)
    {
        int n = wpe.Shape[0], d = wpe.Shape[1];
        var w = wpe.Span;
        double scale = 0.02 * Math.Sqrt(d) / Math.Sqrt(d / 2.0);   // each position's vector has norm √(d/2) before scaling
        for (int p = 0; p < n; p++)
            for (int i = 0; i < d / 2; i++)
            {
                double angle = p / Math.Pow(10_000, 2.0 * i / d);
                w[p * d + 2 * i] = (float)(scale * Math.Sin(angle));
                w[p * d + 2 * i + 1] = (float)(scale * Math.Cos(angle));
            }
    }

    /// <summary>
    /// A training row's rule: a random training rule, or with probability CopyShare the identity map under a training
    /// order — rows that teach the lookup's first half (move the source symbol to where its image is predicted) alone.
    /// </summary>
    SymbolRule TrainingRule(Rng rng)
    {
        var orders = Options.Orders ?? SymbolWorld.TrainOrders;
        if (Options.CopyShare > 0 && rng.NextDouble() < Options.CopyShare)
            return new SymbolRule([.. Enumerable.Range(0, SymbolWorld.Alphabet)], orders[rng.NextInt(orders.Length)]);
        return SymbolWorld.RandomRule(rng, WorldSplit.Train, orders);
    }

    // batch -> [] mean cross-entropy over the scored output symbols
    public Tensor Loss(IclBatch batch)
    {
        var logits = Model.Forward(batch.Ids, batch.Rows, batch.Seq);   // [B, T, V]
        return F.CrossEntropy(F.Reshape(logits, batch.Rows * batch.Seq, Model.Config.VocabSize), batch.Targets, reuseLogitsForGrad: true);
    }

    /// <summary>One AdamW step on a fresh batch; the batch's loss before the update.</summary>
    public float TrainStep()
    {
        var batch = IclBatch.Sample(_data, Options.BatchSize, Options.Shots, _rules ?? TrainingRule, Options.MaxLead);
        Optimizer.ZeroGrad();
        float loss;
        using (TensorScope.Begin())
        {
            var l = Loss(batch);
            loss = l.Item();
            l.Backward();
        }
        GradClip.ClipGradNorm(_parameters, Options.MaxGradNorm);
        double scale = Options.Warmup > 0 ? Math.Min(1.0, (Step + 1) / (double)Options.Warmup) : 1.0;
        foreach (var g in Optimizer.Groups) g.Lr = Options.Lr * scale;
        Optimizer.Step();
        Step++;
        return loss;
    }

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, StateFile));

    public void Save(string dir) => CheckpointFolder.Write(dir, folder =>
    {
        StateFiles.SaveParameters(Path.Combine(folder, ModelFile), Model);
        StateFiles.SaveOptimizer(Path.Combine(folder, OptimizerFile), Optimizer);
        var state = new IclPretrainState(Step, Model.Config, Options, _data.GetState(), Model.DropoutRng.GetState(), ElapsedSeconds);
        AtomicFile.WriteAllText(Path.Combine(folder, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    });

    /// <summary>See <see cref="CheckpointFolder.Recover"/>: called by the run that resumes.</summary>
    public static void Recover(string dir) => CheckpointFolder.Recover(dir, StateFile);

    public static IclPretrainState State(string dir)
    {
        string path = Path.Combine(dir, StateFile);
        try { return JsonSerializer.Deserialize<IclPretrainState>(File.ReadAllText(path)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdapterFormatException($"{path}: not an in-context pretraining state ({e.Message})."); }
    }

    /// <summary>The run a checkpoint was saved from, at its step.</summary>
    public static IclPretrainer Resume(string dir)
    {
        var s = State(dir);
        var run = new IclPretrainer(s.Config, s.Options);
        StateFiles.LoadParameters(Path.Combine(dir, ModelFile), run.Model);
        StateFiles.LoadOptimizer(Path.Combine(dir, OptimizerFile), run.Optimizer);
        run._data.SetState(s.DataRng);
        run.Model.DropoutRng.SetState(s.DropoutRng);
        run.Step = s.Step;
        run.ElapsedSeconds = s.ElapsedSeconds;
        return run;
    }
}
