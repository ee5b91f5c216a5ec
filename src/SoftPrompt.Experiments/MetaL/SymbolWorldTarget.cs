using System.Diagnostics;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Reporting;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The symbol world's target LM, pretrained in context and exported: DIR/checkpoint (resumable), DIR/pretrain_log.jsonl
/// (loss every 50 steps; exact match on unseen rules with 8 demonstrations and zero-shot every EvalEvery steps),
/// DIR/curves.svg, and at the end DIR/model (a Hugging Face GPT-2 checkpoint with the world's tokenizer.json).
/// </summary>
public static class SymbolWorldTarget
{
    public const int EvalEvery = 1_000, EvalItems = 256;

    public static string ModelDir(string dir) => Path.Combine(dir, "model");

    /// <summary>Pretrains (or continues) to options.Steps, stopping early at stopAtStep; exports the model when finished.</summary>
    public static IclPretrainer Pretrain(string dir, IclPretrainOptions options, int? stopAtStep = null, Action<long, float>? onStep = null, Action<string>? say = null)
    {
        string checkpoint = Path.Combine(dir, "checkpoint"), logPath = Path.Combine(dir, "pretrain_log.jsonl");
        IclPretrainer.Recover(checkpoint);
        var run = IclPretrainer.Exists(checkpoint) ? IclPretrainer.Resume(checkpoint) : new IclPretrainer(IclPretrainer.DefaultConfig, options);
        if (run.Step > 0) TrainingLog.TruncateAfter(logPath, run.Step);
        else if (File.Exists(logPath)) File.Delete(logPath);
        say?.Invoke(run.Step > 0 ? $"resuming from step {run.Step:N0} of {run.Options.Steps:N0}" : $"pretraining from scratch, {run.Options.Steps:N0} steps");
        using var log = new TrainingLog(logPath, append: true);
        var clock = Stopwatch.StartNew();
        double before = run.ElapsedSeconds;
        long end = Math.Min(run.Options.Steps, stopAtStep ?? long.MaxValue);
        double lossSum = 0;
        int lossCount = 0;
        while (run.Step < end)
        {
            float loss = run.TrainStep();
            (lossSum, lossCount) = (lossSum + loss, lossCount + 1);
            run.ElapsedSeconds = before + clock.Elapsed.TotalSeconds;
            onStep?.Invoke(run.Step, loss);
            if (run.Step % 50 == 0 || run.Step == end)
            {
                log.Write(new TrainingRecord { Step = run.Step, Loss = lossSum / lossCount, ElapsedSeconds = run.ElapsedSeconds });
                (lossSum, lossCount) = (0, 0);
            }
            if (run.Step % EvalEvery == 0 || run.Step == run.Options.Steps)
            {
                double eight = IclEvaluation.ExactMatch(run.Model, WorldSplit.UnseenRules, 8, EvalItems), zero = IclEvaluation.ExactMatch(run.Model, WorldSplit.UnseenRules, 0, EvalItems);
                log.Write(new TrainingRecord { Step = run.Step, Metrics = new Dictionary<string, double> { ["exact_8shot"] = eight, ["exact_0shot"] = zero } });
                say?.Invoke($"step {run.Step:N0}: unseen rules, exact match {eight:F1}% with 8 demonstrations, {zero:F1}% zero-shot");
            }
            if (run.Step % 500 == 0 || run.Step == end) run.Save(checkpoint);
        }
        if (run.Step >= run.Options.Steps) Export(run, ModelDir(dir));
        CurvePlot.FromLog(TrainingLog.Read(logPath), "symbol-world target LM, in-context pretraining").Save(Path.Combine(dir, "curves.svg"));
        return run;
    }

    /// <summary>The model as a Hugging Face GPT-2 checkpoint with the world's tokenizer.</summary>
    public static void Export(IclPretrainer run, string directory)
    {
        Gpt2Export.Write(run.Model, directory, run.Step);
        AtomicFile.WriteAllText(Path.Combine(directory, "tokenizer.json"), SymbolWorld.TokenizerJson);
    }
}
