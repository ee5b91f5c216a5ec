using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>Loads a Hugging Face checkpoint directory as the architecture its config.json names.</summary>
public static class ModelLoader
{
    public static ICausalLanguageModel Load(string directory, WeightStorage storage = WeightStorage.AsStored)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such model directory.");
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        return config.Family switch
        {
            ArchitectureFamily.Gpt2 => Gpt2Model.Load(directory, storage),
            ArchitectureFamily.Llama => LlamaModel.Load(directory, storage),
            var f => throw new ModelConfigException($"{directory}/config.json: no architecture for family {f}."),
        };
    }
}
