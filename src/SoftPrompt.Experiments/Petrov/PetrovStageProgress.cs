using System.Globalization;
using SoftPrompt.Tuning.Reporting;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// How far one stage of a run (pretraining, or an adaptation phase and seed) has come, as its folder shows it —
/// <c>experiment petrov --status</c>: the steps reached of the scale's, the last exact match on the curve's test items
/// (phases with a curve), the exact match on the task's test items measured when a run last ended at the step reached
/// (result.json; <see cref="FinalTestItems"/> of them), the training seconds over every run, the runs (processes) that trained it,
/// and the pace of its last logged steps (seconds a step), from which the time left follows.
/// </summary>
public sealed record PetrovStageProgress(string Stage, long Reached, long Steps, string? Folder, double? ExactMatch = null, long? ExactMatchStep = null,
    double? Seconds = null, int Sessions = 0, string? Note = null, double? SecondsPerStep = null, double? FinalExactMatch = null, int FinalTestItems = 0)
{
    /// <summary>The steps over which <see cref="SecondsPerStep"/> is measured: the end of the log.</summary>
    public const int PaceWindow = 2_000;

    public bool Done => Reached >= Steps;

    /// <summary>An adaptation phase's folder (<see cref="PhaseRun"/>): its checkpoint, train_log.jsonl, phase.json, sessions.jsonl and result.json
    /// (the exact match on <paramref name="task"/>, when measured at the step the checkpoint holds).</summary>
    public static PetrovStageProgress Phase(string stage, string directory, int steps, double learningRate, ulong initSeed, string? task = null)
    {
        if (!Directory.Exists(directory)) return new(stage, 0, steps, null, Note: "not started");
        string checkpoint = Path.Combine(directory, "checkpoint"), log = Path.Combine(directory, "train_log.jsonl");
        var state = TrainingCheckpoint.Exists(checkpoint) ? TrainingCheckpoint.State(checkpoint) : null;
        long reached = state?.Step ?? 0;
        if (PhaseRun.Recorded(directory) is { } run && (run.Steps != steps || run.LearningRate != learningRate || run.InitSeed != initSeed))
            return new(stage, 0, steps, directory, Note: string.Create(CultureInfo.InvariantCulture,
                $"holds another run, {reached:N0} of {run.Steps:N0} steps at lr {run.LearningRate:g3} from seed {run.InitSeed}: this one would start afresh"));
        var records = File.Exists(log) ? TrainingLog.Read(log) : [];
        var lastEval = records.LastOrDefault(r => r.Get("exact_match") is not null);
        double? final = null;
        int finalItems = 0;
        if (task is not null && PhaseRun.ReadResult(directory) is { } result && result.Step == reached && result.ExactMatch.TryGetValue(task, out double m))
            (final, finalItems) = (m, result.TestItems);
        return new(stage, reached, steps, directory, 100 * lastEval?.Get("exact_match"), lastEval?.Step, state?.ElapsedSeconds, PhaseRun.Sessions(directory, steps),
            SecondsPerStep: RecentPace(records), FinalExactMatch: final, FinalTestItems: finalItems);
    }

    /// <summary>A pretraining folder: its checkpoint (step and training seconds) and whether the model was exported.</summary>
    public static PetrovStageProgress Pretraining(string directory, int steps)
    {
        string checkpoint = Path.Combine(directory, "checkpoint");
        if (!PretrainCheckpoint.Exists(checkpoint)) return new("pretraining", 0, steps, Directory.Exists(directory) ? directory : null, Note: "not started");
        var state = PretrainCheckpoint.State(checkpoint);
        bool exported = File.Exists(Path.Combine(directory, "model", "config.json"));
        string log = Path.Combine(directory, "pretrain_log.jsonl");
        return new("pretraining", state.Step, steps, directory, Seconds: state.ElapsedSeconds,
            Note: exported && state.Step >= steps ? "model exported" : null, SecondsPerStep: File.Exists(log) ? RecentPace(TrainingLog.Read(log)) : null);
    }

    /// <summary>
    /// Seconds a step over the log's last <see cref="PaceWindow"/> steps, from its cumulative elapsed_s (which runs on across
    /// sessions); null with fewer than two timed lines there.
    /// </summary>
    static double? RecentPace(IReadOnlyList<TrainingRecord> records)
    {
        var timed = records.Where(r => r.Loss is not null && r.ElapsedSeconds is not null).ToArray();
        if (timed.Length < 2) return null;
        var last = timed[^1];
        var first = timed.First(r => r.Step >= last.Step - PaceWindow);
        return last.Step > first.Step && last.ElapsedSeconds > first.ElapsedSeconds
            ? (last.ElapsedSeconds!.Value - first.ElapsedSeconds!.Value) / (last.Step - first.Step) : null;
    }

    /// <summary>"0.300 s a step over the last logged steps: 4 h 10 min left at that pace", or "" when done or unknown.</summary>
    public string PaceText => Done || SecondsPerStep is not { } pace ? ""
        : string.Create(CultureInfo.InvariantCulture, $"{pace:F3} s a step over the last logged steps: {Pace.Duration((Steps - Reached) * pace)} left at that pace");

    /// <summary>"46,000 / 100,000", or "done (100,000)".</summary>
    public string StepsText => Done ? $"done ({Steps:N0})" : $"{Reached:N0} / {Steps:N0}";

    /// <summary>"6 h 21 min", or "" when the folder does not say.</summary>
    public string SecondsText => Seconds is { } s ? Pace.Duration(s) : "";
}
