using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;

namespace SoftPrompt.Models.Tests;

public class GenerationDefaultsTests
{
    [Fact]
    public void GenerationConfigWinsOverConfigAndAcceptsLists()
    {
        string dir = Directory.CreateTempSubdirectory("softprompt-gen-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), """{"eos_token_id": 2, "bos_token_id": 1, "pad_token_id": null}""");
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": [128001, 128009]}""");
            var d = GenerationDefaults.Load(dir);
            Assert.Equal([128001, 128009], d.EosTokenIds);
            Assert.Equal(1, d.BosTokenId);
            Assert.Null(d.PadTokenId);
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": "two"}""");
            var e = Assert.Throws<InvalidDataException>(() => GenerationDefaults.Load(dir));
            Assert.Contains("generation_config.json: eos_token_id", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AStopTokenEndsGenerationAfterIt()
    {
        var model = ModelLoader.Load(PromptPlanTests.Dir("qwen2-tiny"));
        int[] prompt = [5, 9, 13, 2];
        var free = Generator.Generate(model, prompt, new GenerationOptions(MaxNewTokens: 10)).ToList();
        int stop = free[4];
        var stopped = Generator.Generate(model, prompt, new GenerationOptions(MaxNewTokens: 10) { StopTokenIds = [stop] }).ToList();
        Assert.Equal(free[..(free.IndexOf(stop) + 1)], stopped);
    }
}
