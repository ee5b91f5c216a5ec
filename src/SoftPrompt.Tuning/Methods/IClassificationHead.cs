using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// A method that can classify through a head on the last prompt position instead of scoring label words (P-tuning v2's
/// deep prompts with a classifier): the trainer and the evaluator ask for this capability, not for a method type.
/// </summary>
public interface IClassificationHead
{
    /// <summary>Linear(D, labels), or null when this instance scores label words.</summary>
    Linear? Classifier { get; }
}
