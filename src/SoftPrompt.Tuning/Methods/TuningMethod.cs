using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// A way to adapt a frozen model: trainable parameters (this module's) that, each forward pass,
/// produce a <see cref="MethodOutput"/> for the prompt plan. The base model is never changed
/// (full fine-tuning is the one exception, and says so).
/// </summary>
public abstract class TuningMethod : Module
{
    /// <summary>The method's entry in <see cref="MethodRegistry"/>: its names, defaults, and how it is saved and loaded.</summary>
    public abstract MethodDefinition Definition { get; }

    /// <summary>The registry name ("prompt", "attn-prefix", …).</summary>
    public string Name => Definition.Name;

    /// <summary>PEFT's peft_type for adapter_config.json (or SoftPrompt's own).</summary>
    public string PeftType => Definition.PeftType;

    /// <summary>Virtual tokens the template must give slots for (0 for prefix, deep prompt, LoRA and full fine-tuning).</summary>
    public virtual int VirtualTokens => 0;

    /// <summary>The plan pieces for one forward pass, with the autograd graph back to this method's parameters.</summary>
    public abstract MethodOutput Compute();

    /// <summary>
    /// The random stream the method draws dropout masks from while training (LoRA dropout, the
    /// P-tuning LSTM's dropout), or null; a checkpoint saves its state so a resumed run is exact.
    /// </summary>
    public Rng? StochasticRng { get; protected init; }

    /// <summary>Trainable parameter count.</summary>
    public long TrainableParameters => Parameters().Where(p => p.RequiresGrad).Sum(p => (long)p.Length);

    /// <summary>Registers a parameter under a dotted path ("embedding.weight"), creating the container modules on the way.</summary>
    protected Tensor RegisterPath(string path, Tensor parameter) => ParameterTree.AddPath(path, parameter, RegisterParameter, NamedChildren(), RegisterModule);

    /// <summary>
    /// Per trainable parameter that needs one, the offset weight decay adds to it (<see cref="Tensors.Optim.ParamGroup.WeightDecayOffsets"/>):
    /// a delta on a frozen weight decays the full weight. Null: plain decay of every parameter.
    /// </summary>
    public virtual IReadOnlyDictionary<Tensor, Tensor>? WeightDecayOffsets() => null;

    /// <summary>
    /// Trainable parameters weight decay leaves alone (full fine-tuning's biases and norm weights, as a Hugging Face
    /// Trainer exempts them); empty: decay reaches every parameter.
    /// </summary>
    public virtual IReadOnlySet<Tensor> ExemptFromWeightDecay() => new HashSet<Tensor>();

    /// <summary>Checks that the method fits the model (widths, layers, module names); throws naming what does not.</summary>
    public abstract void CheckFits(ICausalLanguageModel model);
}
