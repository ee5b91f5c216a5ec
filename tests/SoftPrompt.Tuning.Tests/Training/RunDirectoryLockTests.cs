using System.Diagnostics;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Tuning.Tests.Training;

public sealed class RunDirectoryLockTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-lock-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ASecondRunIntoTheDirectoryIsRefusedWhileTheFirstHoldsItAndAdmittedAfter()
    {
        string run = Path.Combine(_dir, "run");
        using (RunDirectoryLock.Acquire(run))
        {
            var e = Assert.Throws<IOException>(() => RunDirectoryLock.Acquire(run));
            Assert.Contains($"{run}: another run is training into this directory", e.Message);
        }
        using (RunDirectoryLock.Acquire(run)) { }   // released by the first run's end
        Assert.True(File.Exists(Path.Combine(run, RunDirectoryLock.FileName)));
    }

    [Fact]
    public void AnotherProcessHoldingTheLockIsSeenAndItsEndReleasesIt()
    {
        // flock(1) takes the kind of lock .NET takes on Linux (a shared one here: only an exclusive request conflicts with it, so this
        // also checks that a run asks for the directory alone); killing it stands for a run that was killed. --close keeps the lock in
        // flock's own process, not in the command it starts, so the lock is gone once flock has exited.
        string run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        string lockFile = Path.Combine(run, RunDirectoryLock.FileName), ready = Path.Combine(_dir, "ready");
        using var holder = Process.Start(new ProcessStartInfo("flock", ["--shared", "--close", lockFile, "sh", "-c", $"touch '{ready}'; sleep 60"]))!;
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(ready) && clock.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(20);
            Assert.True(File.Exists(ready), "flock did not start");
            Assert.Throws<IOException>(() => RunDirectoryLock.Acquire(run));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
        using (RunDirectoryLock.Acquire(run)) { }
    }
}
