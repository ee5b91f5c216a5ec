using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Methods.PTuning;

/// <summary>
/// PEFT's PromptEncoder: "embedding.weight" [N, D] fed through either
/// MLP: "mlp_head" Linear(D, h) → ReLU → Linear(h, h) → ReLU → Linear(h, D), or
/// LSTM: "lstm_head" (bidirectional, EncoderNumLayers layers, hidden h) then "mlp_head" Linear(2h, 2h) → ReLU → Linear(2h, D).
/// The output [N, D] are the virtual tokens (what PEFT saves as prompt_embeddings).
/// </summary>
public sealed class PTuningMethod : TuningMethod
{
    public PTuningConfig Config { get; }
    public Tensor Embedding { get; }
    public Lstm? LstmHead { get; }
    public LinearStack MlpHead { get; }

    public override MethodDefinition Definition => PTuningDefinition.Instance;
    public override int VirtualTokens => Config.NumVirtualTokens;

    public PTuningMethod(PTuningConfig config, int hidden, Rng rng)
    {
        if (config.NumVirtualTokens <= 0) throw new ArgumentOutOfRangeException(nameof(config), $"num_virtual_tokens must be positive, got {config.NumVirtualTokens}.");
        Config = config;
        StochasticRng = rng;   // the LSTM keeps drawing its dropout masks from it
        int h = config.EncoderHiddenSize > 0 ? config.EncoderHiddenSize : hidden;
        Embedding = RegisterPath("embedding.weight", Init.Normal(NewParameter(config.NumVirtualTokens, hidden), rng));
        if (config.EncoderType == PromptEncoderType.Lstm)
        {
            LstmHead = RegisterModule("lstm_head", new Lstm(hidden, h, rng, config.EncoderNumLayers, bidirectional: true, dropout: config.EncoderDropout));
            MlpHead = RegisterModule("mlp_head", new LinearStack([2 * h, 2 * h, hidden], F.Activation.Relu, rng));
        }
        else MlpHead = RegisterModule("mlp_head", new LinearStack([hidden, h, h, hidden], F.Activation.Relu, rng));
        RequiresGrad();
    }

    public static PTuningMethod Create(PTuningConfig config, ICausalLanguageModel model, Rng rng) => new(config, model.Config.HiddenSize, rng);

    /// <summary>The virtual tokens [N, D].</summary>
    public Tensor Encode()
    {
        var x = Embedding;
        if (LstmHead is not null)
        {
            int n = x.Shape[0], d = x.Shape[1];
            x = F.Reshape(LstmHead.Forward(F.Reshape(x, 1, n, d)), n, 2 * LstmHead.HiddenSize);
        }
        return MlpHead.Forward(x);
    }

    public override MethodOutput Compute() => new(Encode(), null, []);

    public override void CheckFits(ICausalLanguageModel model)
    {
        if (Embedding.Shape[1] != model.Config.HiddenSize)
            throw new ShapeMismatchException($"P-tuning: the encoder makes {Embedding.Shape[1]}-wide tokens; the model's embeddings are {model.Config.HiddenSize}.");
    }
}
