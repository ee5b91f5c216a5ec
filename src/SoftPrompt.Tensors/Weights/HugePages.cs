using System.Runtime.InteropServices;

namespace SoftPrompt.Tensors.Weights;

/// <summary>
/// Asks Linux to back a model's frozen weights (and a decoding cache) with 2 MiB pages. A decoding step streams every
/// weight once, and with 4 KiB pages it also takes a TLB miss every 4 KiB, each a page walk that the hardware
/// prefetchers do not run ahead of (slow in a virtual machine): `bench decode --pages` measures what the pages give
/// (docs/benchmarks.md, Decoding). Transparent huge pages are usually on for regions that ask
/// (`madvise`, the default), so the weights ask: MADV_HUGEPAGE, then MADV_COLLAPSE (Linux ≥ 6.1) to rebuild the pages
/// already written as huge ones. Advice only — anywhere it is refused (another OS, an older kernel, THP off, memory too
/// fragmented) the weights stay as they were, and their values never change. SOFTPROMPT_HUGEPAGES=0 turns it off.
/// </summary>
public static class HugePages
{
    /// <summary>The huge page size this asks for.</summary>
    public const long PageBytes = 2L << 20;

    const int MadvHugePage = 14, MadvCollapse = 25;

    /// <summary>Whether advice is given: off with SOFTPROMPT_HUGEPAGES=0 or off Linux; a bench may turn it off to load a model on 4 KiB pages beside one on huge pages.</summary>
    public static bool Enabled { get; set; } = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("SOFTPROMPT_HUGEPAGES") != "0";

    /// <summary>Bytes collapsed into huge pages by this process so far (benches report it next to their figures).</summary>
    public static long BytesCollapsed => Interlocked.Read(ref _collapsed);
    static long _collapsed;

    [DllImport("libc.so.6", EntryPoint = "madvise", SetLastError = true)]
    static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>
    /// Advises the storage of <paramref name="weights"/>: storage that lies together (a model's weights are allocated one
    /// after another) is taken as one range, and every 2 MiB page a range touches is advised. Returns the bytes that Linux
    /// collapsed into huge pages (0 where it refused or when disabled).
    /// </summary>
    public static long Advise(IEnumerable<FrozenWeight> weights)
    {
        if (!Enabled) return 0;
        var ranges = weights.Distinct().Select(w => w.StorageRange()).Where(r => r.Bytes > 0).OrderBy(r => r.Start).ToList();
        long collapsed = 0;
        foreach (var (start, end) in Coalesce(ranges))
            collapsed += AdviseRange(start, end);
        return collapsed;
    }

    /// <summary>Advises [start, start + bytes) (memory already written) as <see cref="Advise(IEnumerable{FrozenWeight})"/> does a model's weights; returns the bytes collapsed.</summary>
    public static long Advise(nint start, long bytes) => Enabled ? AdviseRange(start, start + (nint)bytes) : 0;

    /// <summary>Advises a tensor's storage, e.g. a decoding cache that every step reads whole; returns the bytes collapsed (pages already huge count again).</summary>
    public static unsafe long Advise(Tensor t)
    {
        if (!Enabled || t.Length == 0) return 0;
        fixed (float* p = t.Span) return AdviseRange((nint)p, (nint)p + (nint)(t.Length * 4L));
    }

    /// <summary>Ranges [start, end) whose gaps are under a huge page merged into one (a gap's other objects get huge pages too, which is harmless).</summary>
    internal static IEnumerable<(nint Start, nint End)> Coalesce(IReadOnlyList<(nint Start, long Bytes)> sorted)
    {
        if (sorted.Count == 0) yield break;
        nint start = sorted[0].Start, end = start + (nint)sorted[0].Bytes;
        foreach (var (s, bytes) in sorted.Skip(1))
        {
            if (s - end < PageBytes) { end = Math.Max(end, s + (nint)bytes); continue; }
            yield return (start, end);
            (start, end) = (s, s + (nint)bytes);
        }
        yield return (start, end);
    }

    /// <summary>
    /// The 2 MiB pages that [start, end) touches: their first address and length (0 for an empty range). A page at either
    /// end also holds other objects of the heap; they get the huge page too (harmless), and a page that reaches memory the
    /// collector has not committed is refused on its own.
    /// </summary>
    internal static (nint Start, long Bytes) Covering(nint start, nint end)
    {
        if (end <= start) return (0, 0);
        long first = (long)start & ~(PageBytes - 1), last = ((long)end + PageBytes - 1) & ~(PageBytes - 1);
        return ((nint)first, last - first);
    }

    // One huge page at a time: a coalesced range may cross mappings the collapse refuses as a whole (a gap the collector
    // has not committed), and one page refused must not cost the others.
    static long AdviseRange(nint start, nint end)
    {
        var (first, bytes) = Covering(start, end);
        long collapsed = 0;
        try
        {
            for (long page = 0; page < bytes; page += PageBytes)
            {
                nint at = first + (nint)page;
                if (Madvise(at, (nuint)PageBytes, MadvHugePage) == 0 && Madvise(at, (nuint)PageBytes, MadvCollapse) == 0) collapsed += PageBytes;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        Interlocked.Add(ref _collapsed, collapsed);
        return collapsed;
    }
}
