namespace SoftPrompt.MetaL;

/// <summary>
/// A folder of tasks, one JSONL file each, split into meta-train / meta-validation / meta-test BY TASK, never by
/// example: either as the folder's own train/, validation/ and test/ subfolders, or, for a flat folder, by a hash of
/// each task's name (deterministic: a task stays on its side whatever else the folder holds).
/// </summary>
public sealed record TaskCollection(IReadOnlyList<MetaTask> Train, IReadOnlyList<MetaTask> Validation, IReadOnlyList<MetaTask> Test)
{
    public static readonly string[] SplitFolders = ["train", "validation", "test"];

    /// <summary>Loads the folder; a flat one puts about validationShare and testShare of its tasks in those splits.</summary>
    public static TaskCollection Load(string directory, double validationShare = 0.1, double testShare = 0.1)
    {
        if (!Directory.Exists(directory)) throw new ArgumentException($"{directory}: no such task folder.");
        if (SplitFolders.Any(s => Directory.Exists(Path.Combine(directory, s))))
        {
            var parts = SplitFolders.Select(s => Path.Combine(directory, s)).Select(d => Directory.Exists(d) ? LoadFlat(d) : []).ToArray();
            if (parts[0].Count == 0) throw new ArgumentException($"{directory}/train: no task files (*.jsonl).");
            return new TaskCollection(parts[0], parts[1], parts[2]);
        }
        var all = LoadFlat(directory);
        if (all.Count == 0) throw new ArgumentException($"{directory}: no task files (*.jsonl), and no train/ validation/ test/ subfolders.");
        var train = new List<MetaTask>();
        var validation = new List<MetaTask>();
        var test = new List<MetaTask>();
        foreach (var t in all)
        {
            double u = Unit(t.Name);
            (u < testShare ? test : u < testShare + validationShare ? validation : train).Add(t);
        }
        if (train.Count == 0) throw new ArgumentException($"{directory}: every task fell into validation or test; give more tasks or train/ validation/ test/ subfolders.");
        return new TaskCollection(train, validation, test);
    }

    static List<MetaTask> LoadFlat(string directory) =>
        [.. Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal).Select(MetaTask.Load)];

    // FNV-1a of the name, mixed by MurmurHash3's finaliser (names that differ in their last character land far apart), in [0, 1)
    static double Unit(string name)
    {
        uint h = 2166136261;
        foreach (char c in name) { h ^= c; h *= 16777619; }
        h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16;
        return h / 4294967296.0;
    }
}
