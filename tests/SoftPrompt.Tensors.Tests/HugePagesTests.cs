using System.Globalization;
using SoftPrompt.Tensors.Weights;
using Xunit.Abstractions;

namespace SoftPrompt.Tensors.Tests;

public class HugePagesTests(ITestOutputHelper output)
{
    const long Mib = 1L << 20;

    [Fact]
    public void EveryHugePageARangeTouchesIsAdvised()
    {
        Assert.Equal(((nint)0, 6 * Mib), HugePages.Covering((nint)4096, (nint)(4 * Mib + 4096)));
        Assert.Equal(((nint)(2 * Mib), 4 * Mib), HugePages.Covering((nint)(2 * Mib), (nint)(6 * Mib)));
        Assert.Equal(((nint)(2 * Mib), 2 * Mib), HugePages.Covering((nint)(2 * Mib + 64), (nint)(3 * Mib)));   // inside one page
        Assert.Equal(((nint)0, 0L), HugePages.Covering((nint)4096, (nint)4096));                             // empty
    }

    [Fact]
    public void WeightsLyingTogetherAreOneRange()
    {
        var sorted = new List<(nint, long)> { ((nint)0, Mib), ((nint)(Mib + 64), Mib), ((nint)(10 * Mib), Mib) };
        var ranges = HugePages.Coalesce(sorted).ToList();
        Assert.Equal([((nint)0, (nint)(2 * Mib + 64)), ((nint)(10 * Mib), (nint)(11 * Mib))], ranges);
    }

    [Fact]
    public void AdvisedWeightsKeepTheirValuesAndWhatIsReportedCollapsedIsHuge()
    {
        var rng = new Random(7);
        var values = new float[3 * 1024 * 1024];   // 12 MiB of float32, 6 MiB of bf16
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextDouble() - 0.5f;
        var f32 = FrozenWeight.FromFloats(values, 3072, 1024, WeightDtype.F32);
        var bf16 = FrozenWeight.FromFloats(values, 3072, 1024, WeightDtype.BF16);
        var before = bf16.ToTensor().ToArray();

        long collapsed = HugePages.Advise([f32, bf16]);

        Assert.Equal(values, f32.ToTensor().ToArray());
        Assert.Equal(before, bf16.ToTensor().ToArray());
        output.WriteLine($"collapsed into huge pages: {collapsed / Mib} MiB");
        Assert.InRange(collapsed, 0, 22 * Mib);   // 18 MiB of weights touch at most 11 pages
        if (collapsed > 0)   // Linux took the advice: the weights' pages are now huge ones
        {
            long huge = AnonHugeBytes(f32.StorageRange()) + AnonHugeBytes(bf16.StorageRange());
            Assert.True(huge >= collapsed, $"Advise reported {collapsed} bytes collapsed; /proc/self/smaps shows {huge} in huge pages.");
        }
    }

    /// <summary>AnonHugePages of the mappings that overlap the range (their whole, so a mapping shared with other objects may count more).</summary>
    static long AnonHugeBytes((nint Start, long Bytes) range)
    {
        long total = 0;
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            if (dash > 0 && line.Length > dash + 1 && line.IndexOf(' ') > dash && IsHex(line.AsSpan(0, dash)))
            {
                long start = long.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber);
                long end = long.Parse(line.AsSpan(dash + 1, line.IndexOf(' ') - dash - 1), NumberStyles.HexNumber);
                inside = start < range.Start + range.Bytes && end > range.Start;
            }
            else if (inside && line.StartsWith("AnonHugePages:"))
                total += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return total;
    }

    static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }
}
