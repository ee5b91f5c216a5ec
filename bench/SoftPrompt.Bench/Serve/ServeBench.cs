using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Experiments.MetaL;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Server;
using SoftPrompt.Tensors;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Bench.Serve;

/// <summary>
/// `softprompt serve` under load, on loopback, with the shipped symbol-world target and PGM (models/metal): clients
/// send greedy completions of an unseen rule's inputs, each client one request after another, for a bounded number
/// of requests and seconds. (a) the task's stored MetaL prompt against in-context learning with the same 8
/// demonstrations sent in every request (requests/s, p50/p99 latency, exact match); (b) 8 tasks of mixed methods at once
/// (MetaL prefixes, prompt tuning and LoRA trained by the server's jobs) against one;
/// (c) one long generation's decode tokens/s through the server against <see cref="Generator.Generate"/> in-process on
/// the same model (the server's overhead). The scenarios compared in (a) and (b) run in --rounds alternating rounds (3):
/// the table gives each side's median and the notes each round's ratio. With SOFTPROMPT_BENCH_METRICS=FILE the server's /metrics at the end go to FILE
/// (where the scheduler's time went: prefill and decode-step sums against the wall time).
/// </summary>
public static class ServeBench
{
    public static IReadOnlyList<BenchRow> Run(BenchArgs args)
    {
        int perScenario = args.GetInt("requests", 1024), rounds = args.GetInt("rounds", 3);
        // --clients 8,32 runs those client counts only (default 1, 8, 32); --stored-only skips the mixed-task and decode parts.
        int[] clients = (args.Get("clients") ?? "1,8,32").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        bool storedOnly = args.Has("stored-only");
        double seconds = args.GetInt("seconds", 20);
        string target = FindAbove(Path.Combine("models", "metal", "symbol-world-target")), pgmDir = FindAbove(Path.Combine("models", "metal", "symbol-world-pgm"));
        string data = Directory.CreateTempSubdirectory("softprompt-bench-serve-").FullName;
        try
        {
            return RunAsync(target, pgmDir, data, perScenario, seconds, rounds, clients, storedOnly).GetAwaiter().GetResult();
        }
        finally { Directory.Delete(data, recursive: true); }
    }

    sealed record Query(string Input, string Expected);

    static async Task<IReadOnlyList<BenchRow>> RunAsync(string target, string pgmDir, string data, int perScenario, double seconds, int rounds,
        int[] clientCounts, bool storedOnly)
    {
        var server = SoftPromptServer.Create(["--urls", "http://127.0.0.1:0"], o => { o.ModelDir = target; o.PgmDir = pgmDir; o.DataDir = data; });
        await server.StartAsync();
        var lm = await server.Host.WhenLoaded;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(server.Urls[0]), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.FirstAdminKey);
        try
        {
            var rng = new Rng(17);
            var format = lm.Format;
            int demos = 8;
            // Eight unseen rules: the first is the single task; all eight make the mixed load.
            var tasks = new List<(string Id, Query[] Queries, string Demonstrations)>();
            for (int t = 0; t < 8; t++)
            {
                var rule = SymbolWorld.RandomRule(rng, WorldSplit.UnseenRules);
                var examples = Enumerable.Range(0, demos).Select(_ => SymbolWorldTasks.Draw(rule, rng)).ToArray();
                var created = await Post(http, "/v1/tasks", new { name = rule.Name, method = "metal", examples = examples.Select(e => new { input = e.Input, output = e.Output }) });
                var queries = Enumerable.Range(0, 64).Select(_ => SymbolWorldTasks.Draw(rule, rng)).Select(q => new Query(q.Input, q.Output)).ToArray();
                string text = string.Concat(examples.Select(e => $"{e.Input}{format.Separator} {e.Output}{format.Delimiter}"));
                tasks.Add(((string)created["id"]!, queries, text));
            }
            // The stored prompt's template ends at the separator, so its answer starts with the space; the target never
            // learnt to predict that space (pretraining scores the answers only), so an in-context query carries it.
            object Stored(int task, int i) => new { model = tasks[task].Id, prompt = tasks[task].Queries[i % 64].Input, max_tokens = SymbolWorld.Length + 1, temperature = 0 };
            object InContext(int task, int i) => new { model = server.Host.ModelName, prompt = tasks[task].Demonstrations + tasks[task].Queries[i % 64].Input + format.Separator + " ", max_tokens = SymbolWorld.Length, temperature = 0 };

            var rows = new List<BenchRow>();
            var stored8 = new List<(double Match, double Tokens)>();
            var icl8 = new List<(double Match, double Tokens)>();
            for (int t = 0; t < tasks.Count; t++)
            {
                int task = t;
                stored8.Add(await Accuracy(http, tasks[t].Queries, i => Stored(task, i)));
                icl8.Add(await Accuracy(http, tasks[t].Queries, i => InContext(task, i)));
            }
            rows.Add(new BenchRow($"exact match, 64 inputs of each of 8 unseen rules: stored MetaL prompt vs ICL ({stored8.Average(x => x.Tokens):F0} vs {icl8.Average(x => x.Tokens):F0} prompt tokens a request)",
                stored8.Average(x => x.Match), icl8.Average(x => x.Match), "%",
                Note: "per rule, stored / ICL: " + string.Join(", ", stored8.Zip(icl8, (a, b) => string.Create(CultureInfo.InvariantCulture, $"{a.Match:F0}/{b.Match:F0}")))));
            foreach (int c in clientCounts)
            {
                string who = c == 1 ? "1 client" : $"{c} clients";
                var (stored, icl) = await Paired(http, c, perScenario, seconds, rounds, i => Stored(0, i), i => InContext(0, i));
                rows.Add(new BenchRow($"{who}: requests/s, stored prompt vs ICL", stored.PerSecond, icl.PerSecond, "req/s",
                    Note: Rounds($"{who}, stored / ICL", stored, icl)));
                rows.Add(new BenchRow($"{who}: p50 / p99 latency, stored prompt (p99 {stored.P99:F1} ms) vs ICL (p99 {icl.P99:F1} ms)", stored.P50, icl.P50, "ms p50", LowerIsBetter: true));
            }
            if (storedOnly) return rows;
            // Eight tasks of mixed methods: four MetaL prompts (prefixes) and two prompt-tuned and two LoRA tasks trained
            // by the server's jobs (20 steps: their accuracy does not matter here, their plans do — LoRA acts on every step).
            var tuned = new List<string>();
            foreach (var (method, t) in new[] { ("prompt", 4), ("prompt", 5), ("lora", 6), ("lora", 7) })
            {
                var examples = tasks[t].Demonstrations.Split(format.Delimiter, StringSplitOptions.RemoveEmptyEntries)
                    .Select(d => d.Split(format.Separator + " ")).Select(p => new { input = p[0], output = p[1] });
                var created = await Post(http, "/v1/tasks", new { name = $"{method} {t}", method, steps = 20, num_virtual_tokens = 8, lora_r = 8, examples });
                tuned.Add((string)created["id"]!);
            }
            foreach (string id in tuned)
                for (var sw = Stopwatch.StartNew(); ; await Task.Delay(200))
                {
                    using var r = await http.GetAsync($"/v1/tasks/{id}");
                    var state = (string)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["state"]!;
                    if (state == "ready") break;
                    if (state is "failed" or "cancelled" || sw.Elapsed > TimeSpan.FromMinutes(5)) throw new InvalidOperationException($"the tuning task {id} is {state}.");
                }
            string[] mixedModels = [tasks[0].Id, tasks[1].Id, tasks[2].Id, tasks[3].Id, .. tuned];
            object Mixed(int i) => new { model = mixedModels[i % 8], prompt = tasks[i % 8].Queries[(i / 8) % 64].Input, max_tokens = SymbolWorld.Length + 1, temperature = 0 };
            foreach (int c in clientCounts.Where(c => c >= 8))
            {
                var (mixed, single) = await Paired(http, c, perScenario, seconds, rounds, Mixed, i => Stored(0, i));
                rows.Add(new BenchRow($"{c} clients: requests/s, 8 tasks of mixed methods (4 MetaL, 2 prompt tuning, 2 LoRA) vs 1 task (goal ≥ 0.8)", mixed.PerSecond, single.PerSecond, "req/s",
                    Note: Rounds($"{c} clients, mixed / single", mixed, single)));
            }

            // Decode: one long greedy generation of the base model, through the server and in-process.
            string prompt = tasks[0].Queries[0].Input;
            int longTokens = 200;
            var timeServer = new List<double>();
            int generated = 0;
            for (int r = 0; r < 6; r++)
            {
                var sw = Stopwatch.StartNew();
                var answer = await Post(http, "/v1/completions", new { model = server.Host.ModelName, prompt, max_tokens = longTokens, temperature = 0 });
                timeServer.Add(sw.Elapsed.TotalSeconds);
                generated = (int)answer["usage"]!["completion_tokens"]!;
            }
            var ids = lm.Tokenizer.Encode(prompt, addSpecialTokens: true);
            var options = new GenerationOptions(longTokens, EosTokenId: lm.EosId) { StopTokenIds = lm.Defaults.EosTokenIds };
            var timeInProcess = new List<double>();
            int local = 0;
            for (int r = 0; r < 6; r++)
            {
                var sw = Stopwatch.StartNew();
                local = Generator.Generate(lm.Model, ids, options).Count();
                timeInProcess.Add(sw.Elapsed.TotalSeconds);
            }
            if (local != generated) throw new InvalidOperationException($"the server generated {generated} tokens and Generate {local}: not the same generation.");
            rows.Add(new BenchRow($"decode tokens/s, one request of {generated} tokens: through the server vs Generator.Generate in-process",
                generated / Statistics.Median(timeServer.Skip(1).ToList()), local / Statistics.Median(timeInProcess.Skip(1).ToList()), "tok/s"));
            return rows;
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("SOFTPROMPT_BENCH_METRICS") is { } dump)
                File.WriteAllText(dump, await http.GetStringAsync("/metrics"));
            await server.DisposeAsync();
        }
    }

    static async Task<JsonNode> Post(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    static async Task<(double ExactMatch, double PromptTokens)> Accuracy(HttpClient http, Query[] queries, Func<int, object> request)
    {
        int right = 0;
        double tokens = 0;
        for (int i = 0; i < queries.Length; i++)
        {
            var answer = await Post(http, "/v1/completions", request(i));
            string text = ((string)answer["choices"]![0]!["text"]!).Trim().TrimEnd('|');
            if (text == queries[i].Expected) right++;
            tokens += (int)answer["usage"]!["prompt_tokens"]!;
        }
        return (100.0 * right / queries.Length, tokens / queries.Length);
    }

    sealed record LoadResult(double PerSecond, double P50, double P99);

    /// <summary>The medians of a scenario's rounds, and each round's requests/s (in order).</summary>
    sealed record RoundsResult(double PerSecond, double P50, double P99, double[] Rounds);

    /// <summary>
    /// Two scenarios run in alternating rounds (a, b, a, b, …), so that both see the same machine as other jobs on it
    /// come and go: on two shared vCPUs one round's requests/s moves by a fifth from run to run, while the ratio of
    /// adjacent rounds moves much less. Each side's figures are the medians of its rounds.
    /// </summary>
    static async Task<(RoundsResult A, RoundsResult B)> Paired(HttpClient http, int clients, int total, double seconds, int rounds,
        Func<int, object> a, Func<int, object> b)
    {
        var ra = new List<LoadResult>();
        var rb = new List<LoadResult>();
        for (int r = 0; r < rounds; r++)
        {
            ra.Add(await Load(http, clients, total, seconds, a));
            rb.Add(await Load(http, clients, total, seconds, b));
        }
        static RoundsResult Of(List<LoadResult> l) => new(Statistics.Median(l.Select(x => x.PerSecond)), Statistics.Median(l.Select(x => x.P50)),
            Statistics.Median(l.Select(x => x.P99)), [.. l.Select(x => x.PerSecond)]);
        return (Of(ra), Of(rb));
    }

    /// <summary>E.g. "8 clients, stored / ICL, 3 alternating rounds: 2.91, 3.05, 2.88 (median 2.91)".</summary>
    static string Rounds(string what, RoundsResult a, RoundsResult b)
    {
        var ratios = a.Rounds.Zip(b.Rounds, (x, y) => x / y).ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"{what}, {ratios.Length} alternating rounds: {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} (median {Statistics.Median(ratios):F2})");
    }

    /// <summary>
    /// clients clients sending requests one after another until total are answered or seconds have passed. First the
    /// same load runs untimed for 8 requests a client: the first requests of a kind run code the JIT has not optimised
    /// yet and grow the batch's buffers, which a run of a few hundred requests would otherwise count.
    /// </summary>
    static async Task<LoadResult> Load(HttpClient http, int clients, int total, double seconds, Func<int, object> request)
    {
        await Drive(http, clients, 8 * clients, double.MaxValue, request, null);
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Drive(http, clients, total, seconds, request, latencies);
        double wall = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        return new LoadResult(latencies.Count / wall, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    static async Task Drive(HttpClient http, int clients, int total, double seconds, Func<int, object> request, List<double>? latencies)
    {
        int next = -1;
        var clock = Stopwatch.StartNew();
        async Task Client()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= total || clock.Elapsed.TotalSeconds > seconds) return;
                var sw = Stopwatch.StartNew();
                await Post(http, "/v1/completions", request(i));
                if (latencies is not null) lock (latencies) latencies.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Client)));
    }

    static double Percentile(List<double> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    static string FindAbove(string relative)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new DirectoryNotFoundException($"{relative} not found above the working directory or the binaries.");
    }
}
