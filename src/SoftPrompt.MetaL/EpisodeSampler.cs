using SoftPrompt.Tensors;

namespace SoftPrompt.MetaL;

/// <summary>
/// Draws meta-training episodes: a task uniformly, then k_P + k_L + queries distinct examples of it. Its random
/// stream is the whole state, so a checkpoint that saves it resumes the same episodes.
/// </summary>
public sealed class EpisodeSampler(IReadOnlyList<MetaTask> tasks, int promptDemonstrations, int textDemonstrations, int queries, ulong seed)
{
    readonly Rng _rng = new(seed);

    public int PerEpisode => promptDemonstrations + textDemonstrations + queries;

    public Episode Next()
    {
        var task = tasks[_rng.NextInt(tasks.Count)];
        return Draw(task, _rng, promptDemonstrations, textDemonstrations, queries);
    }

    /// <summary>One episode of the task from rng: the examples shuffled, then cut into X_P, X_L and queries.</summary>
    public static Episode Draw(MetaTask task, Rng rng, int promptDemonstrations, int textDemonstrations, int queries)
    {
        int need = promptDemonstrations + textDemonstrations + queries;
        if (task.Examples.Count < need)
            throw new ArgumentException($"{task.Source}: {task.Examples.Count} examples; an episode needs {need} ({promptDemonstrations} for X_P, {textDemonstrations} for X_L, {queries} queries).");
        var order = Enumerable.Range(0, task.Examples.Count).ToArray();
        rng.Shuffle<int>(order);
        var picked = order.Take(need).Select(i => task.Examples[i]).ToArray();
        return new Episode(task.Name, picked[..promptDemonstrations], picked[promptDemonstrations..(promptDemonstrations + textDemonstrations)], picked[(promptDemonstrations + textDemonstrations)..]);
    }

    public ulong[] GetState() => _rng.GetState();

    public void SetState(ReadOnlySpan<ulong> state) => _rng.SetState(state);
}
