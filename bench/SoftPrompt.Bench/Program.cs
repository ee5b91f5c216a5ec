using SoftPrompt.Bench;

// softprompt-bench VERB [verb options] [--json FILE]
// Each verb measures something against a reference and returns rows; this file prints them as
// a table and optionally writes them as JSON. Adding a verb is one line in Verbs.

var verbs = new Dictionary<string, (string Help, Func<BenchArgs, IReadOnlyList<BenchRow>> Run)>
{
    ["gemm"] = ("SGEMM GFLOP/s vs OpenBLAS cblas_sgemm", GemmBench.Run),
};

if (args.Length == 0 || !verbs.TryGetValue(args[0], out var verb))
{
    Console.Error.WriteLine("usage: SoftPrompt.Bench VERB [options] [--json FILE]");
    foreach (var (name, v) in verbs) Console.Error.WriteLine($"  {name,-8} {v.Help}");
    return args.Length == 0 ? 0 : 2;
}

var options = BenchArgs.Parse(args.AsSpan(1));
var rows = verb.Run(options);
BenchReport.Print(args[0], rows);
if (options.Get("json") is { } jsonPath) BenchReport.WriteJson(jsonPath, rows);
return 0;
