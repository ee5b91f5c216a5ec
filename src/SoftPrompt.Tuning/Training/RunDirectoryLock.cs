namespace SoftPrompt.Tuning.Training;

/// <summary>
/// Keeps two runs from training into one output directory at once — two processes resuming one checkpoint would
/// interleave its files and their logs. The run holds DIR/.softprompt.lock open exclusively (on Linux and macOS .NET
/// takes an flock on it); the operating system releases it when the process ends, however it ends, so a killed run
/// leaves no stale lock to clear by hand. The file stays behind, empty: deleting it on release would let a third run
/// lock a new file while a second still holds the old one.
/// </summary>
public sealed class RunDirectoryLock : IDisposable
{
    public const string FileName = ".softprompt.lock";

    readonly FileStream _stream;

    RunDirectoryLock(FileStream stream) => _stream = stream;

    /// <summary>Creates <paramref name="directory"/> if needed and takes its lock; an <see cref="IOException"/> naming the directory when another run holds it.</summary>
    public static RunDirectoryLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName);
        try
        {
            return new RunDirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException))
        {
            throw new IOException($"{directory}: another run is training into this directory (it holds {path}); wait for it to end, stop it, or choose another --out.", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
