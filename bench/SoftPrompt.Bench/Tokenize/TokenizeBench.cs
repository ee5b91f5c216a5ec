using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SoftPrompt.Bench.Step;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Bench.Tokenize;

/// <summary>
/// <c>bench tokenize</c>: encode throughput on English prose (the first ~4 MB of Debian's dict-gcide,
/// one input per line, no special tokens), ours on one thread against Hugging Face tokenizers 0.23.2 on
/// one thread (bench/reference/tokenize_throughput.js: one encodeBatch over all lines), same lines, same
/// run. Tokenizer files from tools/fetch_tokenizers.sh. Best of <c>--rounds</c> (3) after a warm-up.
/// </summary>
public static class TokenizeBench
{
    public static List<BenchRow> Run(BenchArgs args)
    {
        string root = Reference.RepoRoot();
        int rounds = args.GetInt("rounds", 3);
        int megabytes = args.GetInt("mb", 4);
        string input = ProseFile(root, megabytes);
        string[] lines = File.ReadAllLines(input, Encoding.UTF8);
        long bytes = lines.Sum(l => (long)Encoding.UTF8.GetByteCount(l));
        var rows = new List<BenchRow>();
        foreach (string name in new[] { "gpt2", "llama3" })
        {
            string file = Path.Combine(root, ".cache", "tokenizers", name, "tokenizer.json");
            if (!File.Exists(file)) throw new InvalidOperationException($"{file} is missing: run tools/fetch_tokenizers.sh");
            var tok = Tokenizer.FromFile(file);
            Console.Error.WriteLine($"{name}: {tok.Description}; {lines.Length} lines, {bytes / 1e6:F1} MB");

            long tokens = 0;
            foreach (string l in lines) tokens += tok.Encode(l).Length;      // warm-up (JIT, word cache) and the token count
            double best = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                var sw = Stopwatch.StartNew();
                foreach (string l in lines) tok.Encode(l);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            var reference = RunReference(root, file, input, rounds, out string? note);
            if (reference is not null && reference.Value.Tokens != tokens)
                note = $"token counts differ: ours {tokens}, reference {reference.Value.Tokens}";
            rows.Add(new BenchRow($"{name} encode, 1 thread", bytes / 1e6 / best, reference is { } rf ? rf.Bytes / 1e6 / rf.Seconds : null, "MB/s", Note: note));
            rows.Add(new BenchRow($"{name} encode, 1 thread", tokens / 1e6 / best, reference is { } rt ? rt.Tokens / 1e6 / rt.Seconds : null, "Mtokens/s", Note: note));
        }
        return rows;
    }

    /// <summary>English prose: the first <paramref name="megabytes"/> MB of gcide's text lines, cached in .cache/bench.</summary>
    static string ProseFile(string root, int megabytes)
    {
        string path = Path.Combine(root, ".cache", "bench", $"gcide-{megabytes}mb.txt");
        if (File.Exists(path)) return path;
        const string gcide = "/usr/share/dictd/gcide.dict.dz";
        if (!File.Exists(gcide)) throw new InvalidOperationException($"{gcide} is missing: apt-get install dict-gcide");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var reader = new StreamReader(new GZipStream(File.OpenRead(gcide), CompressionMode.Decompress), Encoding.UTF8);
        var sb = new StringBuilder();
        long size = 0;
        while (reader.ReadLine() is { } line && size < megabytes * 1_000_000L)
        {
            string trimmed = line.Trim();
            if (trimmed.Length == 0) continue;
            sb.Append(trimmed).Append('\n');
            size += Encoding.UTF8.GetByteCount(trimmed) + 1;
        }
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
        return path;
    }

    readonly record struct ReferenceResult(double Seconds, long Bytes, long Tokens);

    static ReferenceResult? RunReference(string root, string tokenizer, string input, int rounds, out string? note)
    {
        note = "reference: HF tokenizers 0.23.2 (npm), RAYON_NUM_THREADS=1, one encodeBatch over all lines";
        string script = Path.Combine(root, "bench", "reference", "tokenize_throughput.js");
        var psi = new ProcessStartInfo("node", [script, tokenizer, input, rounds.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["RAYON_NUM_THREADS"] = "1";
        psi.Environment["TOKENIZERS_PARALLELISM"] = "false";
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                note = $"reference not measured: {err.Result.Trim().Split('\n').LastOrDefault()}";
                return null;
            }
            using var doc = JsonDocument.Parse(stdout);
            var r = doc.RootElement;
            return new ReferenceResult(r.GetProperty("seconds").GetDouble(), r.GetProperty("bytes").GetInt64(), r.GetProperty("tokens").GetInt64());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            note = $"reference not measured: node not found ({e.Message})";
            return null;
        }
    }
}
