using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tensors.Optim;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Methods.PrefixTuning;

/// <summary>
/// Prefix tuning with PEFT's PrefixEncoder (prefix_projection=True): parameters "embedding.weight"
/// [N, W], "transform.0" Linear(W, h), "transform.2" Linear(h, L·2·W). Each forward computes the
/// prefix [N, L·2·W] = transform(embedding) and splits it per layer (<see cref="PrefixLayout"/>).
/// </summary>
public sealed class PrefixTuningMethod : TuningMethod
{
    readonly int _layers, _width;

    public PrefixTuningConfig Config { get; }
    public Tensor Embedding { get; }
    public LinearStack Transform { get; }

    public override MethodDefinition Definition => PrefixTuningDefinition.Instance;

    public PrefixTuningMethod(PrefixTuningConfig config, int layers, int width, Rng rng)
    {
        if (config.NumVirtualTokens <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"num_virtual_tokens must be positive, got {config.NumVirtualTokens}.");
        if (config.EncoderHiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"encoder_hidden_size must be positive, got {config.EncoderHiddenSize}.");
        Config = config; _layers = layers; _width = width;
        Embedding = RegisterPath("embedding.weight", Init.Normal(NewParameter(config.NumVirtualTokens, width), rng));
        Transform = RegisterModule("transform", new LinearStack([width, config.EncoderHiddenSize, layers * 2 * width], F.Activation.Tanh, rng));
        RequiresGrad();
    }

    public static PrefixTuningMethod Create(PrefixTuningConfig config, ICausalLanguageModel model, Rng rng, Func<string, int[]>? encode = null)
    {
        var m = new PrefixTuningMethod(config, model.Config.Layers, PrefixLayout.Width(model), rng);
        switch (config.Init)
        {
            case PrefixInit.Zero:
                foreach (var p in m.Transform.Layers[^1].Parameters()) p.Span.Clear();
                break;
            case PrefixInit.Word:
                if (string.IsNullOrEmpty(config.InitText)) throw new ArgumentException("Prefix tuning: init Word needs InitText (a real word or text).");
                var ids = (encode ?? throw new ArgumentException("Prefix tuning: init Word needs a tokenizer."))(config.InitText);
                m.FitTo(PrefixLayout.WordActivations(model, ids, config.NumVirtualTokens), config.InitFitSteps, rng);
                break;
        }
        return m;
    }

    /// <summary>The projected prefix [N, L·2·W] (what PEFT saves as prompt_embeddings).</summary>
    public Tensor Project() => Transform.Forward(Embedding);

    public override MethodOutput Compute() => new(null, PrefixLayout.Split(Project(), _layers, _width), []);

    /// <summary>Fits embedding and projection so the prefix matches target [N, L·2·W] (mean squared error, Adam).</summary>
    void FitTo(Tensor target, int steps, Rng rng)
    {
        var opt = new AdamW(Parameters().ToList(), lr: 1e-3, weightDecay: 0);
        for (int s = 0; s < steps; s++)
        {
            Tape.Clear();
            ZeroGrad();
            var diff = F.Sub(Project(), target);
            F.Mean(F.Mul(diff, diff)).Backward();
            opt.Step();
        }
        Tape.Clear();
        ZeroGrad();
    }

    public override void CheckFits(ICausalLanguageModel model)
    {
        if (model.Config.Layers != _layers || PrefixLayout.Width(model) != _width)
            throw new ShapeMismatchException($"Prefix tuning: the prefix has {_layers} layers of width {_width}; the model has {model.Config.Layers} layers of key/value width {PrefixLayout.Width(model)}.");
    }
}
