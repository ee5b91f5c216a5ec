using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

/// <summary>
/// 12,000 random and mutated safetensors files (seeded, so a failure names a reproducible case):
/// bit flips, truncations, lying header lengths, made-up headers with unknown dtypes, wrong element
/// counts, overflowing shapes, overlapping / out-of-bounds / negative / huge offsets, deep and odd
/// JSON, invalid UTF-8. Opening and reading each may only throw <see cref="SafetensorsException"/>
/// naming the file; each case must finish quickly; and opening may not allocate more than a
/// constant over the file's size.
/// </summary>
public sealed class SafetensorsFuzzTests : IDisposable
{
    const int Cases = 12_000;
    const double CaseSeconds = 2.0;                 // a slow case is a hang in the making
    /// <summary>Managed bytes an open may allocate beyond the file's size: the entry objects, dictionaries and parser state of a small header.</summary>
    const long AllocationSlack = 64 << 10;

    // Files live in memory where the machine has a tmpfs (12,000 writes to disk take most of the run otherwise).
    readonly string _dir = Directory.Exists("/dev/shm") ? Directory.CreateDirectory(Path.Combine("/dev/shm", $"softprompt-fuzz-{Guid.NewGuid():N}")).FullName
        : Directory.CreateTempSubdirectory("softprompt-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void OnlySafetensorsExceptionsEscape_NoHang_AllocationBoundedByFileSize()
    {
        var failures = new List<string>();
        int opened = 0, rejected = 0;
        double slowest = 0;
        // Its own thread: a hang fails the test at the deadline instead of stalling the run, and
        // GC.GetAllocatedBytesForCurrentThread counts exactly what the opens allocate.
        var worker = new Thread(() =>
        {
            string path = Path.Combine(_dir, "case.safetensors");
            var seeds = Seeds();
            var rng = new Random(20261122);
            for (int i = 0; i < Cases && failures.Count < 20; i++)
            {
                byte[] bytes = Mutate(rng, seeds[rng.Next(seeds.Count)], i);
                File.WriteAllBytes(path, bytes);
                var sw = Stopwatch.StartNew();
                string? failure = RunCase(path, bytes.Length, ref opened, ref rejected);
                slowest = Math.Max(slowest, sw.Elapsed.TotalSeconds);
                if (failure is null && sw.Elapsed.TotalSeconds > CaseSeconds) failure = $"took {sw.Elapsed.TotalSeconds:F2} s";
                if (failure is not null)
                    failures.Add($"case {i} ({bytes.Length} bytes, header {Preview(bytes)}): {failure}");
            }
        }, 16 << 20);
        worker.Start();
        Assert.True(worker.Join(TimeSpan.FromMinutes(3)), "the fuzz run did not finish in 3 minutes (a case hangs)");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The generator must exercise both sides: files that open and files that are refused.
        Assert.True(opened > Cases / 20 && rejected > Cases / 2, $"opened {opened}, rejected {rejected} of {Cases}");
    }

    /// <summary>
    /// The fuzz headers hold a few tensors; with many, an open allocates the entries themselves
    /// (name, shape, record, dictionary slot: about 230 bytes for a 64-byte header entry, 3.6× measured), so the
    /// bound is linear in the header, never driven by the sizes a header claims.
    /// </summary>
    [Fact]
    public void AllocationStaysLinearInTheHeaderForManyTensors()
    {
        const int n = 20_000;
        var sb = new StringBuilder("{");
        for (int i = 0; i < n; i++) sb.Append(i == 0 ? "" : ",").Append($"\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{i},{i + 1}]}}");
        byte[] bytes = Build(sb.Append('}').ToString(), n);
        string path = Path.Combine(_dir, "many.safetensors");
        File.WriteAllBytes(path, bytes);
        SafetensorsFile.Open(path).Dispose();   // warm-up: JIT and static state
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (var f = SafetensorsFile.Open(path)) Assert.Equal(n, f.Entries.Count);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated <= 4 * bytes.Length, $"opening {n} tensors ({bytes.Length} bytes) allocated {allocated} bytes ({(double)allocated / bytes.Length:F2}× the file)");
    }

    static string? RunCase(string path, long size, ref int opened, ref int rejected)
    {
        SafetensorsFile? file = null;
        try
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            file = SafetensorsFile.Open(path);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > size + AllocationSlack) return $"opening allocated {allocated} bytes for a file of {size}";
            opened++;
            foreach (var e in file.Entries.Values)
            {
                _ = file.Bytes(e.Name).Length;
                try { file.LoadTensor(e.Name); } catch (SafetensorsException x) { if (!x.Message.Contains(path)) return "no file name: " + x.Message; }
                if (e.Shape.Length == 2)
                    try { file.LoadFrozen(e.Name); } catch (SafetensorsException x) { if (!x.Message.Contains(path)) return "no file name: " + x.Message; }
            }
            return null;
        }
        catch (SafetensorsException x)
        {
            rejected++;
            return x.Message.Contains(path) ? null : "message does not name the file: " + x.Message;
        }
        catch (Exception x)
        {
            return $"{x.GetType().Name} escaped: {x.Message}";
        }
        finally { file?.Dispose(); }
    }

    static string Preview(byte[] bytes)
    {
        int n = Math.Min(bytes.Length - 8, 160);
        return n <= 0 ? "(none)" : Encoding.UTF8.GetString(bytes, 8, n).Replace('\n', ' ');
    }

    // ---- inputs ----------------------------------------------------------------------------

    /// <summary>Valid files to mutate: several dtypes, shapes (scalar, empty, matrices) and metadata.</summary>
    List<byte[]> Seeds()
    {
        var list = new List<byte[]>();
        string p = Path.Combine(_dir, "seed.safetensors");
        var t = (int[] s) => Tensor.FromArray(Enumerable.Range(0, s.Aggregate(1, (a, b) => a * b)).Select(i => i * 0.5f).ToArray(), s);
        foreach (var dtype in new[] { SafetensorsDtype.F32, SafetensorsDtype.F16, SafetensorsDtype.BF16 })
        {
            SafetensorsWriter.Write(p, [new("wte.weight", t([4, 3])), new("ln.bias", t([3])), new("scalar", t([])), new("empty", t([0, 5]))],
                new Dictionary<string, string> { ["format"] = "pt" }, dtype);
            list.Add(File.ReadAllBytes(p));
            SafetensorsWriter.Write(p, [new("h.0.attn.c_attn.weight", t([2, 6])), new("b", t([1, 1, 2]))], dtype: dtype);
            list.Add(File.ReadAllBytes(p));
        }
        return list;
    }

    /// <summary>One case: a mutation of a seed file or a made-up header.</summary>
    static byte[] Mutate(Random rng, byte[] seed, int caseIndex)
    {
        switch (caseIndex % 8)
        {
            case 0: // bit flips anywhere in the length prefix and header
            {
                var b = (byte[])seed.Clone();
                int headerEnd = (int)Math.Min(b.Length, 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(b));
                for (int f = rng.Next(1, 9); f > 0; f--) { int at = rng.Next(headerEnd); b[at] ^= (byte)(1 << rng.Next(8)); }
                return b;
            }
            case 1: // truncation
                return seed[..rng.Next(seed.Length)];
            case 2: // a lying header length
            {
                var b = (byte[])seed.Clone();
                ulong[] lengths = [0, 1, 2, 7, ulong.MaxValue, 1UL << 63, (ulong)long.MaxValue, (ulong)b.Length, (ulong)b.Length - 7, 100UL << 20, (100UL << 20) + 1,
                    BinaryPrimitives.ReadUInt64LittleEndian(b) + (ulong)rng.Next(-16, 17), (ulong)rng.NextInt64()];
                BinaryPrimitives.WriteUInt64LittleEndian(b, lengths[rng.Next(lengths.Length)]);
                return b;
            }
            case 3: // bytes spliced into the header: invalid UTF-8, NUL, control characters, surrogates
            {
                var b = new List<byte>(seed);
                int headerLen = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
                byte[][] junk = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00], [0x0A], [0xE2, 0x82], [0xEF, 0xBB, 0xBF], [0x5C]];
                var j = junk[rng.Next(junk.Length)];
                b.InsertRange(8 + rng.Next(headerLen), j);
                var r = b.ToArray();
                if (rng.Next(2) == 0) BinaryPrimitives.WriteUInt64LittleEndian(r, (ulong)(headerLen + j.Length));
                return r;
            }
            default: // a made-up header, usually over exactly the data it describes
            {
                string header = RandomHeader(rng, out long end);
                return Build(header, rng.Next(4) == 0 || end is < 0 or > 1 << 20 ? rng.Next(0, 4096) : (int)end);
            }
        }
    }

    static byte[] Build(string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)json.Length);
        json.CopyTo(b, 8);
        return b;
    }

    static readonly string[] Dtypes = ["\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"", "\"U8\"", "\"BOOL\"", "\"Bool\"",
        "\"U16\"", "\"U32\"", "\"U64\"", "\"F8_E4M3\"", "\"f32\"", "\"\"", "\"3\"", "\"F16,BF16\"", "\" F32\"", "\"F32\\u0000\"", "32", "null", "[\"F32\"]", "{}"];

    static readonly string[] OddShapes = ["[65536,65536,65536,65536]", "[2147483647,2147483647,0]", "[0,2147483647,2147483647]", "[4294967296]",
        "[-1]", "[2.5]", "[\"2\"]", "[[2]]", "[null]", "null", "{}", "\"[2]\"", "[1e400]", "[2147483647,2147483647,2147483647]", "[3037000500,3037000500]",
        "[" + string.Join(",", Enumerable.Repeat("1", 1000)) + "]", "[]"];

    static readonly string[] OddOffsets = ["[0]", "[0,1,2]", "[-8,0]", "[8,0]", "[0,9223372036854775807]", "[0,18446744073709551615]", "[0,1e20]",
        "[\"0\",\"8\"]", "[0.0,8.0]", "null", "{}", "[9223372036854775807,9223372036854775807]", "[-9223372036854775808,0]"];

    static readonly string[] OddDocuments = ["", "null", "[]", "\"x\"", "1", "{", "{}}", "{\"a\":1,}", "{/*c*/}", "{\"a\" 1}", "\uFEFF{}", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{}}"];

    /// <summary>A header of random entries, most of them plausible, with odd values mixed in.</summary>
    static string RandomHeader(Random rng, out long end)
    {
        end = 0;
        int kind = rng.Next(20);
        if (kind == 0) return new string('[', rng.Next(1, 5000)) + new string(']', rng.Next(0, 5000));   // deep nesting
        if (kind == 1) return "{\"__metadata__\":" + new string('[', 200) + new string(']', 200) + "}";
        if (kind == 2) return OddDocuments[rng.Next(OddDocuments.Length)];
        var sb = new StringBuilder("{");
        if (rng.Next(4) == 0)
            sb.Append(rng.Next(3) switch { 0 => "\"__metadata__\":{\"format\":\"pt\"},", 1 => "\"__metadata__\":{\"n\":1},", _ => "\"__metadata__\":[],"});
        int entries = rng.Next(0, 6);
        bool clean = rng.Next(3) == 0;   // a third of the headers are valid: the reads after a successful open get exercised
        int odd = clean ? 1_000_000_000 : 4;
        long at = 0;
        for (int e = 0; e < entries; e++)
        {
            if (e > 0) sb.Append(',');
            string name = rng.Next(6) switch { 0 => "", 1 => "w\\u00e9", 2 when !clean => "\\ud800", 3 when !clean => "w", _ => $"t{e}" };
            string dtype = rng.Next(odd) == 0 ? Dtypes[rng.Next(Dtypes.Length)] : Dtypes[rng.Next(3)];
            int size = dtype.Contains("32") ? 4 : dtype.Contains("64") ? 8 : dtype.Contains("16") ? 2 : 1;
            int[] dims = Enumerable.Range(0, rng.Next(0, 4)).Select(_ => rng.Next(0, 6)).ToArray();
            long count = dims.Aggregate(1L, (a, b) => a * b);
            string shape = rng.Next(odd + 2) == 0 ? OddShapes[rng.Next(OddShapes.Length)] : "[" + string.Join(",", dims) + "]";
            long bytes = count * size + (rng.Next(odd * 2) == 0 ? rng.Next(-4, 5) : 0);          // sometimes a wrong element count
            long begin = rng.Next(odd * 2) == 0 ? at + rng.Next(-8, 9) : at;                        // sometimes an overlap or a hole
            string offsets = rng.Next(odd * 2) == 0 ? OddOffsets[rng.Next(OddOffsets.Length)] : $"[{begin},{begin + bytes}]";
            at = begin + bytes;
            var fields = new List<string> { $"\"dtype\":{dtype}", $"\"shape\":{shape}", $"\"data_offsets\":{offsets}" };
            if (rng.Next(odd * 2) == 0) fields.RemoveAt(rng.Next(fields.Count));
            if (rng.Next(10) == 0) fields.Add("\"extra\":[1,{\"x\":null}]");
            sb.Append('"').Append(name).Append("\":{").Append(string.Join(',', fields.OrderBy(_ => rng.Next()))).Append('}');
        }
        end = at;
        return sb.Append('}').ToString();
    }
}
