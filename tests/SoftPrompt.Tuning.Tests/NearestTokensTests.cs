using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Tuning.Methods.PromptTuning;

namespace SoftPrompt.Tuning.Tests;

public class NearestTokensTests
{
    [Fact]
    public void AVirtualTokenCopiedFromAWordIsNearestToThatWord()
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        int[] ids = [5, 40, 12];
        var m = PromptTuningMethod.Create(new PromptTuningConfig(3, PromptTuningInit.Text, InitText: "x"), model, new Rng(1), _ => ids);
        var near = NearestTokens.Find(model, m.Embeddings, k: 4, chunk: 16);   // several chunks
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ids[i], near[i][0].Id);
            Assert.Equal(1f, near[i][0].Cosine, 5);
            Assert.Equal(4, near[i].Length);
            Assert.True(near[i].Zip(near[i].Skip(1)).All(p => p.First.Cosine >= p.Second.Cosine), "best first");
        }
        // the second-best is the true runner-up among all 61 tokens
        var table = model.EmbedTokens([.. Enumerable.Range(0, 61)]).ToArray();
        float Cos(int a, int b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < 32; j++) { dot += table[a * 32 + j] * table[b * 32 + j]; na += table[a * 32 + j] * table[a * 32 + j]; nb += table[b * 32 + j] * table[b * 32 + j]; }
            return (float)(dot / Math.Sqrt(na * nb));
        }
        int runnerUp = Enumerable.Range(0, 61).Where(t => t != 40).MaxBy(t => Cos(40, t));
        Assert.Equal(runnerUp, near[1][1].Id);
    }
}
