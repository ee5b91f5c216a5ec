using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods.PromptTuning;

namespace SoftPrompt.Tuning.Methods.PTuning;

/// <summary>
/// ptuning: PEFT's P_TUNING, the encoder's output saved as prompt_embeddings [N, D] and the encoder itself under
/// "softprompt.prompt_encoder." so training resumes. PEFT's own files hold only the output: they load as prompt tuning.
/// </summary>
public sealed class PTuningDefinition : MethodDefinition<PTuningMethod>
{
    public static readonly PTuningDefinition Instance = new();

    const string Encoder = AdapterReader.Own + "prompt_encoder.";

    public override string Name => "ptuning";
    public override string PeftType => "P_TUNING";
    public override string Description => "P-tuning (Liu et al.): virtual tokens from an MLP or BiLSTM encoder, placed anywhere in the template";
    public override double DefaultLearningRate => 0.01;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        PTuningMethod.Create(new PTuningConfig(o.VirtualTokens, o.Encoder.ToLowerInvariant() switch
        {
            "mlp" => PromptEncoderType.Mlp, "lstm" => PromptEncoderType.Lstm,
            _ => throw new ArgumentException($"--encoder '{o.Encoder}': mlp or lstm."),
        }, o.EncoderHidden), model, rng);

    public override TuningMethod Load(AdapterReader a)
    {
        var r = a.Config;
        int n = r.Int("num_virtual_tokens") * r.Int("num_transformer_submodules", 1);
        var saved = a.Read("prompt_embeddings", n, a.Model.Config.HiddenSize);
        if (!a.HasTensorsUnder(Encoder)) return new PromptTuningMethod(new PromptTuningConfig(n), saved);   // PEFT's own file: the encoder's output only
        var type = r.String("encoder_reparameterization_type") switch
        {
            "MLP" => PromptEncoderType.Mlp, "LSTM" => PromptEncoderType.Lstm,
            _ => throw r.Bad("encoder_reparameterization_type", "\"MLP\" or \"LSTM\""),
        };
        int d = a.Model.Config.HiddenSize, hidden = a.SizeField("encoder_hidden_size", d);   // the encoder's first layer is [h, D]
        int layers = type == PromptEncoderType.Lstm ? a.SizeField("encoder_num_layers", 4L * hidden * d, 2) : r.Int("encoder_num_layers", 2);
        var config = new PTuningConfig(n, type, hidden, layers, (float)r.Probability("encoder_dropout", 0));
        var m = new PTuningMethod(config, a.Model.Config.HiddenSize, a.Rng);
        a.LoadInto(m, Encoder);
        return m;
    }

    protected override void Save(PTuningMethod p, AdapterWriter a)
    {
        var c = a.Model.Config;
        a.AddComputed("prompt_embeddings", p.Encode());
        a.AddModule(Encoder, p);
        a.PromptLearning(p.Config.NumVirtualTokens, c.HiddenSize, c.Heads);
        a.Config["encoder_reparameterization_type"] = p.Config.EncoderType == PromptEncoderType.Lstm ? "LSTM" : "MLP";
        a.Config["encoder_hidden_size"] = p.Config.EncoderHiddenSize > 0 ? p.Config.EncoderHiddenSize : c.HiddenSize;
        a.Config["encoder_num_layers"] = p.Config.EncoderNumLayers;
        a.Config["encoder_dropout"] = p.Config.EncoderDropout;
    }

    protected override object Settings(PTuningMethod p) => p.Config;
}
