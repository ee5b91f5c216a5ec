namespace SoftPrompt.Tuning.Training;

/// <summary>
/// A checkpoint is a folder of files that belong together (parameters, optimizer state, a state file naming the step).
/// <see cref="Write"/> writes a new one whole into DIR.tmp, then swaps it in for DIR (the previous one passing through
/// DIR.old), so a process killed at any moment leaves either the previous checkpoint or the new one — never the
/// parameters of one with the step of another. <see cref="Recover"/>, called by the run that resumes, puts back the one
/// a kill left aside. Every trainer's checkpoint goes through here (prompt methods, the PGM, the pretrainers).
/// </summary>
public static class CheckpointFolder
{
    /// <summary>Writes a checkpoint into dir through write(folder), which must write the state file last.</summary>
    public static void Write(string dir, Action<string> write)
    {
        var (home, fresh, previous) = Paths(dir);
        if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
        Directory.CreateDirectory(fresh);
        write(fresh);
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        if (Directory.Exists(home)) Directory.Move(home, previous);
        Directory.Move(fresh, home);
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
    }

    /// <summary>
    /// After a kill in the middle of <see cref="Write"/>: when dir has no stateFile (no complete checkpoint), the previous
    /// checkpoint set aside in DIR.old comes back; a half-written DIR.tmp is dropped.
    /// </summary>
    public static void Recover(string dir, string stateFile)
    {
        var (home, fresh, previous) = Paths(dir);
        if (!File.Exists(Path.Combine(home, stateFile)) && File.Exists(Path.Combine(previous, stateFile)))
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
            Directory.Move(previous, home);
        }
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
    }

    static (string Home, string Fresh, string Previous) Paths(string dir)
    {
        string home = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        return (home, home + ".tmp", home + ".old");
    }
}
