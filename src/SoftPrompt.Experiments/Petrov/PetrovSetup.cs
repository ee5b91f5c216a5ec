namespace SoftPrompt.Experiments.Petrov;

/// <summary>How a phase adapts the pretrained model.</summary>
public enum AdaptationKind { FullFineTuning, Prefix, Lora }

/// <summary>
/// One adaptation of the pretrained model: a method trained on a task for a number of updates, then
/// evaluated on EvalTasks. Reference is the paper's accuracy (%) on the trained task, where it has one.
/// </summary>
/// Seeds: how many initialisations to train; the one with the best accuracy on a validation sample
/// (training split) is reported — a prefix's outcome depends strongly on its N(0, 1) draw.
/// CurvePoints: how many times to measure the accuracy (320 test items) during training, for an accuracy-vs-steps plot (0: none);
/// FullCurvePoints: as many at the full scale, where not 0 — a long phase that a session cannot finish wants points every few
/// thousand steps, so that the curve of a run stopped part-way has a shape.
public sealed record PetrovPhase(string Name, AdaptationKind Kind, PetrovTask Task, int Steps, int FullSteps, double LearningRate,
    IReadOnlyList<PetrovTask> EvalTasks, int PrefixLength = 0, int LoraRank = 0, double? Reference = null, int Seeds = 1, int CurvePoints = 0,
    int FullCurvePoints = 0)
{
    /// <summary>Steps between two accuracy measurements at this scale; 0 when the phase draws no curve.</summary>
    public int CurveEvery(bool fullScale)
    {
        int points = fullScale && FullCurvePoints > 0 ? FullCurvePoints : CurvePoints;
        return points == 0 ? 0 : Math.Max(1, (fullScale ? FullSteps : Steps) / points);
    }
}

/// <summary>
/// A setup of Petrov, Torr and Bibi's experiments (the issue's numbers): the model, what it is pretrained
/// on and for how long, and the adaptations. Steps are the small scale (each setup within about 30
/// minutes on 2 cores); FullSteps the authors'.
/// </summary>
public sealed record PetrovSetup(int Number, MinGptConfig Model, IReadOnlyList<PetrovTask> PretrainTasks, int PretrainSteps, int FullPretrainSteps,
    IReadOnlyList<PetrovTask> PretrainEval, IReadOnlyList<PetrovPhase> Phases, string Expectation)
{
    /// <summary>
    /// The setup with only the phases <paramref name="words"/> (comma-separated) name: a word that is a phase's whole name selects that
    /// phase alone ("prefix on ascending", not "prefix on ascending then +1"); any other word every phase whose name contains it.
    /// None selected is an error naming <paramref name="option"/> and the phases.
    /// </summary>
    public PetrovSetup SelectPhases(string words, string option = "phases")
    {
        var list = words.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Selects(string word, PetrovPhase p) => Phases.Any(x => x.Name.Equals(word, StringComparison.OrdinalIgnoreCase))
            ? p.Name.Equals(word, StringComparison.OrdinalIgnoreCase)
            : p.Name.Contains(word, StringComparison.OrdinalIgnoreCase);
        var kept = Phases.Where(p => list.Any(w => Selects(w, p))).ToArray();
        return kept.Length > 0 ? this with { Phases = kept }
            : throw new ArgumentException($"{option} '{words}': no phase of setup {Number} matches ({string.Join("; ", Phases.Select(p => p.Name))}).");
    }

    static readonly PetrovTask[] Four = [PetrovTask.SortAscending, PetrovTask.SortDescending, PetrovTask.AddOne, PetrovTask.AddTwo];

    public static PetrovSetup For(int setup) => setup switch
    {
        1 => new(1, MinGptConfig.ForSetup(1), [PetrovTask.SortAscending], 4_000, 20_000, [PetrovTask.SortAscending, PetrovTask.SortDescending],
            [
                new("fine-tune on descending", AdaptationKind.FullFineTuning, PetrovTask.SortDescending, 2_000, 10_000, 5e-4, [PetrovTask.SortDescending, PetrovTask.SortAscending], Reference: 85),
                new("prefix on descending", AdaptationKind.Prefix, PetrovTask.SortDescending, 4_000, 40_000, 5e-5, [PetrovTask.SortDescending], PrefixLength: 1, Reference: 0),
            ],
            "pretrained on ascending ≈ 91%; full fine-tuning learns descending (≈ 85%); a prefix cannot (≈ 0%)"),
        2 => new(2, MinGptConfig.ForSetup(2), Four, 4_000, 20_000, Four,
            [.. Four.Select(t => new PetrovPhase($"prefix on {PetrovTasks.Name(t)}", AdaptationKind.Prefix, t, 1_500, 30_000, 5e-5, Four, PrefixLength: 1,
                Reference: t switch { PetrovTask.SortAscending => 94, PetrovTask.SortDescending => 85, PetrovTask.AddOne => 100, _ => 99 }, Seeds: 3))],
            "pretrained on the four tasks mixed without a marker ≈ 24% overall; one prefix per task selects it (94 / 85 / 100 / 99%) and is ≈ 0 on the others"),
        3 => new(3, MinGptConfig.ForSetup(3), Four, 3_000, 40_000, Four,
            [
                .. Four.Select(t => new PetrovPhase($"prefix on {PetrovTasks.Name(t)}", AdaptationKind.Prefix, t, 300, 20_000, 5e-5, [t], PrefixLength: 10, Reference: 99)),
                new("prefix on ascending then +1", AdaptationKind.Prefix, PetrovTask.SortAscendingAddOne, 1_000, 500_000, 5e-5, [PetrovTask.SortAscendingAddOne], PrefixLength: 10, Reference: 72, CurvePoints: 12,
                    FullCurvePoints: 100),   // every 5,000 of the authors' 500,000 steps: about 12 minutes apart here
                new("prefix on histogram", AdaptationKind.Prefix, PetrovTask.Histogram, 600, 20_000, 5e-5, [PetrovTask.Histogram], PrefixLength: 10, Reference: 0.6),
            ],
            "prefixes elicit the pretrained tasks (≥ 99%), partly learn their composition ascending-then-+1 (≈ 72% after 500k), not histogram (≈ 0.6%)"),
        4 => new(4, MinGptConfig.ForSetup(4), Four, 3_000, 40_000, Four,
            [
                new("prefix on histogram", AdaptationKind.Prefix, PetrovTask.Histogram, 2_000, 100_000, 5e-5, [PetrovTask.Histogram], PrefixLength: 12, Reference: 0.3, CurvePoints: 10,
                    FullCurvePoints: 20),
                new("rank-1 LoRA on histogram", AdaptationKind.Lora, PetrovTask.Histogram, 3_000, 10_000, 5e-3, [PetrovTask.Histogram], LoraRank: 1, Reference: 92, CurvePoints: 10),
            ],
            "with as many parameters (12,288), a prefix cannot learn histogram (≈ 0.3%) and rank-1 LoRA on c_proj and c_fc can (≈ 92%)"),
        _ => throw new ArgumentOutOfRangeException(nameof(setup), setup, "Petrov et al. have setups 1–4."),
    };
}
