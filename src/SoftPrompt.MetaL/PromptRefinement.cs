using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.MetaL;

/// <summary>
/// The seed's optional gradient-based tuning: a generated prompt continues as prompt tuning (or, for a prefix, as a
/// deep prompt) on the user's examples, starting from what the PGM made, with the X_L demonstrations in the template.
/// </summary>
public static class PromptRefinement
{
    /// <summary>Trains the prompt for steps updates on the X_P examples as queries and writes the adapter (and its log) to outputDirectory.</summary>
    public static TrainingResult Refine(ICausalLanguageModel model, TaskPrompt task, EpisodeFormat format, ITextEncoder encoder, IReadOnlyList<Example> examples,
        int steps, double learningRate, string outputDirectory, JsonObject? adapterExtras = null, int? eosId = null, IProgress<TrainingProgress>? progress = null)
    {
        if (steps <= 0) throw new ArgumentException($"--refine-steps must be positive, got {steps}.");
        var queries = examples.Take(task.PromptDemonstrations).ToArray();   // X_P, as queries: X_L is in the template
        var template = Template.Parse(TaskPromptMaker.Template(task, format));
        var tuningTask = new TuningTask(template, encoder, new RenderOptions { AnswerField = EpisodeFormat.OutputField, EosId = eosId });
        var options = new TrainerOptions
        {
            MaxSteps = steps, BatchSize = Math.Min(8, queries.Length), LearningRate = learningRate, Schedule = ScheduleKind.Constant, MaxGradNorm = 1f,
        };
        var method = task.Prompt.ToMethod(model);
        return new Trainer(model, method, tuningTask, queries, null, options, outputDirectory, adapterExtras).Train(progress);
    }
}
