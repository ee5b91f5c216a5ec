using System.CommandLine;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Cli;

/// <summary><c>softprompt info</c>: what the engine will use on this machine.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var cmd = new Command("info", "Show the engine's threads and SIMD paths on this machine.") { json };
        cmd.SetAction(parse =>
        {
            var info = new SortedDictionary<string, object>
            {
                ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["threads"] = WorkerPool.ThreadCount,
                ["vector256"] = Vector256.IsHardwareAccelerated,
                ["vector512"] = Vector512.IsHardwareAccelerated,
                ["fma"] = Fma.IsSupported,
                ["avx512f"] = Avx512F.IsSupported,
            };
            if (parse.GetValue(json))
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(info));
            else
                foreach (var (k, v) in info) Console.WriteLine($"{k,-10} {v}");
            return 0;
        });
        return cmd;
    }
}
