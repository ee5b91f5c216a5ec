namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// How big a MetaL-Prompt run in the symbol world is: the task collection, meta-training (per PGM), the evaluation
/// (Shots demonstrations a meta-test task, TestQueries queries), the prompt-tuning step counts tried, seeds.
/// </summary>
public sealed record MetalWorldScale(int TrainTasks, int ValidationTasks, int TestTasks, int HeldOutTasks, int ExamplesPerTask,
    int MetaSteps, int EpisodesPerStep, int Queries, int PadTokens, int Shots, int TestQueries, int[] TuningSteps, int RefineSteps, int Seeds)
{
    /// <summary>About 11 minutes on 2 cores (10.6 min on 2026-12-06, docs/metal.md).</summary>
    public static readonly MetalWorldScale Small = new(400, 32, 16, 16, 64, MetaSteps: 2000, EpisodesPerStep: 4, Queries: 8, PadTokens: 8, Shots: 8,
        TestQueries: 32, TuningSteps: [50, 200], RefineSteps: 25, Seeds: 1);

    /// <summary>
    /// The report's scale: five times the tasks, eight times the episodes of meta-training (the shipped PGM's recipe,
    /// tools/metal_pgm.sh, at half its updates), prompts of 14 positions, three seeds — about 1.1 hours a seed on 2 cores,
    /// so it runs across sessions: rerun the same command and it goes on from the rows it measured (report-rows.jsonl)
    /// and the PGMs' checkpoints (tools/metal_full.sh). 14 positions, not 8: meta-training 2,000 updates of 8 episodes,
    /// the prefix PGM's exact match on the held-out family went 83.1 / 91.1 / 94.5 / 94.6 % with 8 / 12 / 14 / 16 pads
    /// (unseen rules 99.4–100 % throughout); 14 keeps a request at 21 tokens against in-context learning's 111 (5.3×).
    /// </summary>
    public static readonly MetalWorldScale Full = new(2000, 64, 48, 48, 64, MetaSteps: 4000, EpisodesPerStep: 8, Queries: 8, PadTokens: 14, Shots: 8,
        TestQueries: 32, TuningSteps: [50, 200, 800], RefineSteps: 50, Seeds: 3);

    /// <summary>A shrunken run for the test suite: every row of the report, a few seconds.</summary>
    public static readonly MetalWorldScale Test = new(6, 2, 2, 2, 12, MetaSteps: 2, EpisodesPerStep: 1, Queries: 2, PadTokens: 2, Shots: 4,
        TestQueries: 3, TuningSteps: [2], RefineSteps: 2, Seeds: 1);

    public static MetalWorldScale Parse(string name) => name switch
    {
        "small" => Small, "full" => Full, "test" => Test,
        _ => throw new ArgumentException($"--scale '{name}': small or full."),
    };
}
