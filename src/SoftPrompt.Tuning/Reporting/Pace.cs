using System.Globalization;

namespace SoftPrompt.Tuning.Reporting;

/// <summary>
/// A long run's pace for its progress lines: seconds a step over this session's steps, and the time the rest should take
/// at that pace (", 0.214 s/step, 5 h 40 min left"). Measured from where this session started, so a resumed run's
/// earlier sessions (another machine, other load) do not skew it.
/// </summary>
public sealed class Pace(long startStep)
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>"" before the first step of this session.</summary>
    public string Describe(long step, long endStep)
    {
        long done = step - startStep;
        if (done <= 0) return "";
        double perStep = _clock.Elapsed.TotalSeconds / done;
        return string.Create(CultureInfo.InvariantCulture, $", {perStep:F3} s/step, {Duration(Math.Max(0, endStep - step) * perStep)} left");
    }

    /// <summary>"5 h 40 min", "12 min 05 s", "42 s".</summary>
    public static string Duration(double seconds) => seconds switch
    {
        >= 3600 => $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60):D2} min",
        >= 60 => $"{(int)(seconds / 60)} min {(int)(seconds % 60):D2} s",
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s"),
    };
}
