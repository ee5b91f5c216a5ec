using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// Modules named by path: a parameter registered as "transformer.h.0.attn.c_attn.lora_A.weight" or
/// "embedding.weight" gets a chain of container modules, so state keys read like PEFT's.
/// </summary>
public sealed class ParameterTree : Module
{
    public Tensor Add(string path, Tensor parameter) => AddPath(path, parameter, RegisterParameter, NamedChildren(), RegisterModule);

    internal static Tensor AddPath(string path, Tensor parameter, Func<string, Tensor, Tensor> registerParameter,
        IEnumerable<KeyValuePair<string, Module>> children, Func<string, ParameterTree, ParameterTree> registerModule)
    {
        int dot = path.IndexOf('.');
        if (dot < 0) return registerParameter(path, parameter);
        string head = path[..dot];
        var child = children.FirstOrDefault(c => c.Key == head).Value as ParameterTree ?? registerModule(head, new ParameterTree());
        return child.Add(path[(dot + 1)..], parameter);
    }
}
