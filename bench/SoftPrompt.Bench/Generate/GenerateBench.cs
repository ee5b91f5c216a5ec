using System.Diagnostics;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Bench.Generate;

/// <summary>
/// <c>bench generate</c>: GPT-2-small-shaped random weights (RandomGpt2Checkpoint), loaded with
/// Gpt2Model.Load and run through the public Generator API, next to a plain-PyTorch GPT-2 with a
/// key/value cache on the same file (bench/reference/generate_gpt2.py) in the same run:
///   prefill   tokens/s of one uncached forward over 128-token prompts, batch 1 and 8 (median)
///   generate  new tokens/s of greedy decoding, 128 new tokens after a 128-token prompt, batch 1
///             and 8, prefill included (best of --runs)
/// Both are higher-is-better. Also the resident size of the same weights held as float32 and as
/// bf16 FrozenWeights, and whether our greedy tokens equal PyTorch's.
/// Options: --new N (default 128), --runs N (default 2), --noref.
/// </summary>
public static class GenerateBench
{
    const int PromptTokens = 128, Batch = 8;

    public static List<BenchRow> Run(BenchArgs args)
    {
        int newTokens = args.GetInt("new", 128), runs = args.GetInt("runs", 2);
        string root = Step.Reference.RepoRoot();
        string dir = RandomGpt2Checkpoint.Ensure(root);
        if (args.Get("weights-rss") is { } storageName) return WeightMemoryChild(dir, Enum.Parse<WeightStorage>(storageName));
        var rows = new List<BenchRow>();

        // Each storage is loaded in a fresh process, so no heap memory freed earlier in this one is reused.
        var f32 = WeightMemory(WeightStorage.Float32);
        var bf16 = WeightMemory(WeightStorage.BFloat16);

        var linears = new Dictionary<(WeightStorage, int), double>();
        foreach (var storage in new[] { WeightStorage.Float32, WeightStorage.BFloat16 })
            foreach (int m in new[] { 1, Batch })
                linears[(storage, m)] = DecodeLinears.Milliseconds(dir, storage, m);
        Collect();

        ICausalLanguageModel model = Gpt2Model.Load(dir);
        var prompts = RandomPrompts(new Rng(42), Batch, PromptTokens, model.Config.VocabSize);

        var prefill = new Dictionary<int, double>();
        var generate = new Dictionary<int, double>();
        var tokens = new Dictionary<int, List<int>[]>();
        foreach (int b in new[] { 1, Batch })
        {
            var batchPrompts = prompts[..b];
            prefill[b] = Prefill(model, batchPrompts, runs + 1);
            (generate[b], tokens[b]) = Generation(model, batchPrompts, newTokens, runs);
            Console.Error.WriteLine($"ours, batch {b}: prefill {prefill[b]:F1} tok/s, generate {generate[b]:F2} tok/s");
        }

        // The same generation with the model held in bf16 (ours only: the reference keeps float32).
        var bf16Generate = new Dictionary<int, double>();
        {
            ICausalLanguageModel half = Gpt2Model.Load(dir, WeightStorage.BFloat16);
            foreach (int b in new[] { 1, Batch }) bf16Generate[b] = Generation(half, prompts[..b], newTokens, runs).Item1;
            Collect();
        }

        PyTorchGenerate.Result? reference = null;
        string? note = "--noref: the PyTorch reference was not run";
        if (!args.Has("noref")) reference = PyTorchGenerate.Run(root, dir, prompts, newTokens, runs, out note);
        note = reference?.Settings ?? note;

        foreach (int b in new[] { 1, Batch })
            rows.Add(new BenchRow($"prefill tokens/s, batch {b}×{PromptTokens} (higher is better)", prefill[b], reference?.Prefill[b], "tok/s", Note: note));
        foreach (int b in new[] { 1, Batch })
            rows.Add(new BenchRow($"generation tokens/s, batch {b}, {PromptTokens}+{newTokens} greedy, KV cache (higher is better)", generate[b], reference?.Generate[b], "tok/s", Note: note));
        foreach (int b in new[] { 1, Batch })
            rows.Add(new BenchRow($"generation tokens/s, batch {b}: ours with bf16 weights vs ours with float32 (higher is better)", bf16Generate[b], generate[b], "tok/s"));
        if (reference is not null)
            foreach (int b in new[] { 1, Batch })
            {
                int equal = LeadingEqual(tokens[b], reference.Tokens[b]);
                rows.Add(new BenchRow($"greedy tokens equal to PyTorch's before the first difference, batch {b} (worst row)", equal, newTokens, "tokens"));
                if (equal < newTokens) Console.Error.WriteLine($"note: batch {b}: our greedy tokens differ from PyTorch's after {equal} of {newTokens} (near-tied logits of random weights, or a bug)");
            }
        rows.Add(new BenchRow("weight bytes held: bf16 vs float32 FrozenWeights (same weights)", bf16.HeldMib, f32.HeldMib, "MiB", LowerIsBetter: true));
        rows.Add(new BenchRow("anonymous RSS growth when loading them: bf16 vs float32", bf16.RssMib, f32.RssMib, "MiB", LowerIsBetter: true));
        foreach (int m in new[] { 1, Batch })
            rows.Add(new BenchRow($"every linear + tied head, {m} row{(m > 1 ? "s" : "")} (a decode step's weight reads): bf16 vs float32 weights",
                linears[(WeightStorage.BFloat16, m)], linears[(WeightStorage.Float32, m)], "ms", LowerIsBetter: true));
        return rows;
    }

    static int[][] RandomPrompts(Rng rng, int batch, int length, int vocab) =>
        Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, length).Select(_ => rng.NextInt(vocab)).ToArray()).ToArray();

    /// <summary>Tokens/s of one uncached forward over every prompt (median of <paramref name="runs"/> after a warm-up).</summary>
    static double Prefill(ICausalLanguageModel model, int[][] prompts, int runs)
    {
        int b = prompts.Length, t = prompts[0].Length;
        var ids = prompts.SelectMany(p => p).ToArray();
        var times = new List<double>();
        for (int i = 0; i <= runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using (Tape.NoGrad())
            using (TensorScope.Begin())
                model.Forward(ids, b, t);
            if (i > 0) times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return b * t / times[times.Count / 2];
    }

    /// <summary>New tokens/s of greedy generation, prefill included (best of <paramref name="runs"/> after a short warm-up), and the tokens.</summary>
    static (double Rate, List<int>[] Tokens) Generation(ICausalLanguageModel model, int[][] prompts, int newTokens, int runs)
    {
        List<int>[] Once(int n)
        {
            var o = new GenerationOptions(MaxNewTokens: n);
            return prompts.Length == 1 ? [Generator.Generate(model, prompts[0], o).ToList()] : Generator.GenerateBatch(model, prompts, o);
        }
        Once(4);
        double best = double.MaxValue;
        List<int>[] tokens = [];
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            tokens = Once(newTokens);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return (prompts.Length * newTokens / best, tokens);
    }

    static int LeadingEqual(List<int>[] ours, int[][] theirs)
    {
        int worst = int.MaxValue;
        for (int r = 0; r < ours.Length; r++)
        {
            int n = 0;
            while (n < ours[r].Count && n < theirs[r].Length && ours[r][n] == theirs[r][n]) n++;
            worst = Math.Min(worst, n);
        }
        return worst;
    }

    /// <summary>Runs this benchmark again as a child with --weights-rss: bytes the weights hold and the anonymous RSS their loading added, in MiB.</summary>
    static (double HeldMib, double RssMib) WeightMemory(WeightStorage storage)
    {
        string self = Environment.ProcessPath!;
        string arguments = $"generate --weights-rss {storage}";
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") arguments = $"{typeof(GenerateBench).Assembly.Location} {arguments}";
        var psi = new ProcessStartInfo(self, arguments) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("weights-rss:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"the weight-memory child printed no result (exit code {p.ExitCode})");
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The child's side: loads every weight as <paramref name="storage"/> says and prints held MiB and anonymous-RSS growth MiB.</summary>
    static List<BenchRow> WeightMemoryChild(string dir, WeightStorage storage)
    {
        Collect();
        long rss0 = RssAnonKib();
        var (matrices, vectors) = RandomGpt2Checkpoint.LoadAll(dir, storage);
        Collect();
        long rss1 = RssAnonKib();
        long held = matrices.Sum(m => m.SizeInBytes) + vectors.Sum(v => 4L * v.Length);
        Console.Error.WriteLine($"{storage}: {matrices.Count} matrices ({string.Join(", ", matrices.Select(m => m.Dtype).Distinct())}) + {vectors.Count} vectors hold {held / 1048576.0:F1} MiB; anonymous RSS +{(rss1 - rss0) / 1024.0:F1} MiB");
        Console.WriteLine(FormattableString.Invariant($"weights-rss: {held / 1048576.0:F2} {(rss1 - rss0) / 1024.0:F2}"));
        GC.KeepAlive(matrices); GC.KeepAlive(vectors);
        return [];
    }

    static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    static long RssAnonKib() => StatusKib("RssAnon:");

    static long StatusKib(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return 0;
    }
}
