using SoftPrompt.Bench;

// softprompt-bench VERB [verb options] [--json FILE]
// Each verb measures something against a reference and returns rows; this file prints them as
// a table and optionally writes them as JSON. Adding a verb is one line in Verbs.

var verbs = new Dictionary<string, (string Help, Func<BenchArgs, IReadOnlyList<BenchRow>> Run)>
{
    ["gemm"] = ("SGEMM GFLOP/s vs OpenBLAS cblas_sgemm", GemmBench.Run),
    ["tokenize"] = ("encode MB/s on English prose, GPT-2 and Llama 3 files, 1 thread, vs Hugging Face tokenizers", SoftPrompt.Bench.Tokenize.TokenizeBench.Run),
    ["generate"] = ("GPT-2-small generation tokens/s (prefill, KV-cache decoding) vs PyTorch; bf16 vs f32 weight memory", SoftPrompt.Bench.Generate.GenerateBench.Run),
    ["decode"] = ("GPT-2-small batch-1 decoding, f32 and bf16 weights, vs llama.cpp's llama-bench; GB/s of weights vs the read bandwidth; the step's split", SoftPrompt.Bench.Decode.DecodeBench.Run),
    ["step"] = ("GPT-2-small prompt-tuning training step vs PyTorch (--check: compare numbers on a tiny shape)", SoftPrompt.Bench.Step.StepBench.Run),
    ["methods"] = ("training step of every tuning method (prompt, P-tuning, prefix, deep, LoRA) on GPT-2-small vs PEFT-style PyTorch (--check: tiny shape)", SoftPrompt.Bench.Methods.MethodsBench.Run),
    ["metal"] = ("MetaL-Prompt on the symbol world's target shape: a request after a stored prompt vs ICL; a PGM pass vs a prompt-tuning update", SoftPrompt.Bench.Metal.MetalBench.Run),
    ["serve"] = ("softprompt serve on loopback (shipped symbol-world target and PGM): requests/s and p50/p99 at 1, 8, 32 clients, a stored MetaL prompt vs ICL; 8 tasks vs 1; decode tokens/s vs in-process (--clients 8,32, --stored-only, --rounds N, --seconds S, --requests N)", SoftPrompt.Bench.Serve.ServeBench.Run),
    ["petrov"] = ("Petrov et al. phases (pretraining, fine-tuning, prefix, LoRA) s/step vs the authors' minGPT code in PyTorch (--profile: our pretraining step split up)", SoftPrompt.Bench.Petrov.PetrovBench.Run),
};
string[] every = [.. verbs.Keys];
verbs["all"] = ("every verb above, one after another", _ => []);

if (args.Length == 0 || !verbs.TryGetValue(args[0], out var verb))
{
    Console.Error.WriteLine("usage: SoftPrompt.Bench VERB [options] [--json FILE]");
    foreach (var (name, v) in verbs) Console.Error.WriteLine($"  {name,-8} {v.Help}");
    return args.Length == 0 ? 0 : 2;
}

var options = BenchArgs.Parse(args.AsSpan(1));
var rows = new List<BenchRow>();
foreach (string name in args[0] == "all" ? every : [args[0]])
{
    var verbRows = verbs[name].Run(options);
    BenchReport.Print(name, verbRows);
    // Rows are named after their verb so that the JSON of 'all' keeps them apart.
    rows.AddRange(verbRows.Select(r => r with { Name = $"{name}: {r.Name}" }));
}
if (options.Get("json") is { } jsonPath) BenchReport.WriteJson(jsonPath, rows);
return 0;
