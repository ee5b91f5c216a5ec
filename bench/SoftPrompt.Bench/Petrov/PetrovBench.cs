using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Bench.Step;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Bench.Petrov;

/// <summary>
/// <c>bench petrov</c>: seconds per training step of each phase of the Petrov et al. experiments, ours
/// (<see cref="MinGptPretrainer"/> for pretraining, <see cref="PetrovExperiment"/>'s adaptation through the
/// Trainer for the rest) next to a PyTorch re-implementation of the authors' minGPT code
/// (bench/reference/petrov_minGPT.py: minGPT's model and trainer, the prefix written over the attention
/// input, rank-1 LoRA), run phase by phase beside ours in the same invocation through run_reference.sh's default mode — the authors'
/// code runs plain PyTorch. Phases: setup 1 pretraining, fine-tuning and prefix (d = 96); setup 3/4
/// pretraining (P = 10 pads), setup 4 prefix (P = 12) and rank-1 LoRA (d = 256, 4 layers); every phase's rows start
/// with the setup's pad positions, as the authors' do. <c>--profile</c> splits our
/// pretraining step into data, forward and backward (each per op), clip and optimizer.
/// </summary>
public static class PetrovBench
{
    sealed record Phase(string Name, int Setup, string Kind, int Prefix = 0, int Rank = 0);

    static readonly Phase[] Phases =
    [
        new("setup 1 pretraining (1 layer, d = 96)", 1, "pretrain"),
        new("setup 1 full fine-tuning", 1, "finetune"),
        new("setup 1 prefix, P = 1", 1, "prefix", Prefix: 1),
        new("setup 3/4 pretraining (4 layers, d = 256)", 3, "pretrain"),
        new("setup 4 prefix, P = 12", 4, "prefix", Prefix: 12),
        new("setup 4 rank-1 LoRA on c_proj, c_fc", 4, "lora", Rank: 1),
    ];

    public static List<BenchRow> Run(BenchArgs args)
    {
        int steps = args.GetInt("steps", 40), warmup = args.GetInt("warmup", 20);   // 20: the first steps fault in pooled buffers and compile
        if (args.Has("profile")) { Profile(args.GetInt("setup", 3), steps, warmup); return []; }
        var only = args.Get("only")?.Split(',');
        var phases = only is null ? Phases : [.. Phases.Where(p => only.Contains(p.Kind) || only.Contains($"{p.Kind}{p.Setup}"))];
        // Phase by phase, ours then the reference's, so that both sides of a ratio run minutes apart at most: this
        // machine's speed drifts by 20–40 % over a quarter of an hour (setup 4's prefix: 0.13–0.22 s a step on one day).
        // --rounds N repeats each phase's pair N times and reports each side's median (each round's ratio is printed).
        int rounds = Math.Max(1, args.GetInt("rounds", 1));
        double peak = PeakFlops.Measure();
        var rows = new List<BenchRow>();
        string? refused = null;
        foreach (var phase in phases)
        {
            var ours = new List<double>();
            var theirs = new List<double>();
            double productFlops = 0;
            for (int round = 0; round < rounds; round++)
            {
                var (seconds, flops) = Ours(phase, steps, warmup, args.Has("backward-profile") && round == 0);
                ours.Add(seconds);
                productFlops = flops;
                if (!args.Has("noref") && refused is null && Reference(phase, steps, warmup, out refused) is { } t)
                {
                    theirs.Add(t);
                    if (rounds > 1) Console.Error.WriteLine($"round {round + 1} of {rounds}: {phase.Name}: ours {ours[^1]:F4} s, theirs {t:F4} s, ratio {ours[^1] / t:F2}");
                }
            }
            double oursMedian = Statistics.Median(ours);
            double? theirsMedian = theirs.Count > 0 ? Statistics.Median(theirs) : null;
            PrintBound(phase, productFlops, oursMedian, theirsMedian, peak);
            rows.Add(new BenchRow($"{phase.Name}, s/step", oursMedian, theirsMedian, "s", LowerIsBetter: true,
                args.Has("noref") ? null : refused ?? "reference: bench/reference/petrov_minGPT.py (the authors' minGPT model and trainer, plain PyTorch)" +
                    (rounds > 1 ? $"; each side the median of {rounds} rounds, run in turn" : "")));
        }
        return rows;
    }

    /// <summary>
    /// Where a phase's step stands against this machine: its products' work per step, the time that work takes at the
    /// measured fp32 peak (no step can be shorter), and what 3× faster than the authors' code asks.
    /// </summary>
    static void PrintBound(Phase phase, double productFlops, double ours, double? theirs, double peakGflops)
    {
        double gflop = productFlops / 1e9, bound = gflop / peakGflops;
        Console.Error.WriteLine($"bound: {phase.Name}: products {gflop:F2} GFLOP a step ({gflop / ours:F0} GFLOP/s over our step); " +
            $"at the measured peak of {peakGflops:F0} GFLOP/s they take {bound:F4} s, the shortest possible step" +
            (theirs is { } t ? $"; 3× the authors' code asks ≤ {t / 3:F4} s ({(t / 3 < bound ? "below that bound: out of reach" : $"{gflop / (t / 3):F0} GFLOP/s over the step")})" : ""));
    }

    /// <summary>The authors' code's median seconds per step of one phase, or null with why (no PyTorch here, …).</summary>
    static double? Reference(Phase phase, int steps, int warmup, out string? refused)
    {
        string output = Path.Combine(Path.GetTempPath(), $"softprompt-petrov-ref-{Environment.ProcessId}.json");
        string input = JsonSerializer.Serialize(new[] { new { name = phase.Name, setup = phase.Setup, kind = phase.Kind, pad = MinGptConfig.ForSetup(phase.Setup).PrefixPadding, prefix = phase.Prefix, rank = phase.Rank } });
        string inputFile = Path.ChangeExtension(output, ".in.json");
        File.WriteAllText(inputFile, input);
        Console.Error.WriteLine($"the authors' code (PyTorch reference, default mode): {phase.Name} …");
        refused = Step.Reference.Run("default", $"--script petrov_minGPT.py --input {inputFile} --steps {steps} --warmup {warmup} --json {output}", out string stderr);
        if (refused is not null)
        {
            Console.Error.WriteLine($"note: PyTorch reference not measured: {refused}\n{stderr}");
            return null;
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        return doc.RootElement.EnumerateArray().Single().GetProperty("step_seconds").GetDouble();
    }

    /// <summary>
    /// The least warm-up, in seconds, before our steps are timed: a run's first second or so is slower (buffers faulting in,
    /// the worker pool and the cores warming up; the bench JITs fully optimised from the start), and 20 warm-up steps of
    /// setup 1 (10 ms each) had timed 27–31 ms a step against 9–13 ms after 3 s (2026-11-30 13:41).
    /// </summary>
    const double WarmupSeconds = 3;

    /// <summary>
    /// Median seconds per step of our phase after <paramref name="warmup"/> steps (and at least <see cref="WarmupSeconds"/>), and the
    /// products' floating-point work per step (<see cref="Sgemm.FlopsDone"/> over the timed run).
    /// </summary>
    /// <param name="backwardProfile">also print an adaptation's backward pass by node, per step (<c>--backward-profile</c>)</param>
    static (double Seconds, double ProductFlops) Ours(Phase phase, int steps, int warmup, bool backwardProfile = false)
    {
        var setup = PetrovSetup.For(phase.Setup);
        var pretrainer = new MinGptPretrainer(setup.Model, setup.PretrainTasks, new PretrainOptions());
        if (phase.Kind == "pretrain")
        {
            var times = new double[steps];
            var warm = Stopwatch.StartNew();
            for (int i = 0; i < warmup || warm.Elapsed.TotalSeconds < WarmupSeconds; i++) pretrainer.TrainStep();
            long flops0 = Sgemm.FlopsDone;
            for (int i = 0; i < steps; i++) { var sw = Stopwatch.StartNew(); pretrainer.TrainStep(); times[i] = sw.Elapsed.TotalSeconds; }
            return (Median(phase, times), (Sgemm.FlopsDone - flops0) / (double)steps);
        }
        // Adaptations: the experiment's own Trainer path on the (untrained) model; the median of the trainer's own step times
        // after the warm-up, as for pretraining and the reference (a phase's set-up and final evaluation are not steps: timing
        // whole phases and subtracting had given setup 1's prefix a negative step once, 2026-12-01).
        string dir = Path.Combine(Path.GetTempPath(), $"softprompt-petrov-bench-{Environment.ProcessId}");
        Gpt2Export.Write(pretrainer.Model, dir);
        var model = ModelLoader.Load(dir);
        var kind = phase.Kind switch { "prefix" => AdaptationKind.Prefix, "lora" => AdaptationKind.Lora, _ => AdaptationKind.FullFineTuning };
        var stepSeconds = new List<double>();
        var observer = new InlineProgress<TrainingProgress>(p => { if (p.Eval is null) stepSeconds.Add(p.StepSeconds); });
        double Time(int n)
        {
            var p = new PetrovPhase(phase.Name, kind, PetrovTask.SortDescending, n, n, kind == AdaptationKind.Lora ? 5e-3 : 5e-5, [], phase.Prefix, phase.Rank);
            var experiment = new PetrovExperiment(setup with { Phases = [p] }, Path.Combine(dir, "runs"), fullScale: true);
            stepSeconds.Clear();
            var sw = Stopwatch.StartNew();
            experiment.Adapt(model, p, observer: observer);
            return sw.Elapsed.TotalSeconds;
        }
        double first = Time(warmup);
        if (first < WarmupSeconds) warmup = (int)Math.Ceiling(warmup * WarmupSeconds / Math.Max(first, 1e-3));
        long flopsBefore = Sgemm.FlopsDone;
        Time(warmup + steps);
        double productFlops = (Sgemm.FlopsDone - flopsBefore) / (double)stepSeconds.Count;
        double perStep = Median(phase, [.. stepSeconds.Skip(warmup)]);
        if (backwardProfile)
        {
            using var profile = BackwardProfile.Start();
            using var forwardProfile = ForwardProfile.Start();
            Time(steps);
            PrintByOp(Console.Error, $"{phase.Name}: forward by op (seconds per step, over {steps} steps; the first op of the run also carries the phase's set-up):", forwardProfile.Entries, steps);
            PrintByOp(Console.Error, $"{phase.Name}: backward by node (seconds per step, over {steps} steps):", profile.Entries, steps);
        }
        Directory.Delete(dir, recursive: true);
        return (perStep, productFlops);
    }

    /// <summary>The median of a phase's timed steps, printed with their mean and least (how much the machine swung during the run).</summary>
    static double Median(Phase phase, double[] times)
    {
        double median = Statistics.Median(times);
        Console.Error.WriteLine($"ours: {phase.Name}: median {median:F4} s/step (mean {times.Average():F4}, least {times.Min():F4}, over {times.Length} steps)");
        return median;
    }

    /// <summary>Our pretraining step split into its parts (seconds per step, means after warm-up).</summary>
    static void Profile(int setupNumber, int steps, int warmup)
    {
        var setup = PetrovSetup.For(setupNumber);
        var run = new MinGptPretrainer(setup.Model, setup.PretrainTasks, new PretrainOptions());
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < warmup || warm.Elapsed.TotalSeconds < WarmupSeconds; i++) run.TrainStep();
        var parameters = run.Model.Parameters().ToArray();
        double data = 0, forward = 0, backward = 0, clip = 0, optimizer = 0;
        using var profile = BackwardProfile.Start();
        using var forwardProfile = ForwardProfile.Start();
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        int[] collections0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        for (int i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            var batch = run.Sampler.NextBatch(run.Options.BatchSize, run.Model.Config.PrefixPadding);
            data += sw.Elapsed.TotalSeconds; sw.Restart();
            run.Optimizer.ZeroGrad();
            using (TensorScope.Begin())
            {
                forwardProfile.Resume();
                var l = run.Model.Loss(batch);
                l.Item();
                forward += sw.Elapsed.TotalSeconds; sw.Restart();
                l.Backward();
                backward += sw.Elapsed.TotalSeconds; sw.Restart();
            }
            GradClip.ClipGradNorm(parameters, run.Options.MaxGradNorm);
            clip += sw.Elapsed.TotalSeconds; sw.Restart();
            run.Optimizer.Step();
            optimizer += sw.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"setup {setupNumber} pretraining step, mean of {steps}: data {data / steps:F4} s, forward {forward / steps:F4} s, backward {backward / steps:F4} s, clip {clip / steps:F4} s, AdamW {optimizer / steps:F4} s");
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        Console.WriteLine($"managed allocation {allocated / steps / 1024.0:F1} KiB per step; collections gen0/1/2 over {steps} steps: " +
            $"{GC.CollectionCount(0) - collections0[0]}/{GC.CollectionCount(1) - collections0[1]}/{GC.CollectionCount(2) - collections0[2]}");
        PrintByOp(Console.Out, "forward by node (seconds per step; each op charged the time since the previous recorded op):", forwardProfile.Entries, steps);
        PrintByOp(Console.Out, "backward by node (seconds per step):", profile.Entries, steps);
    }

    /// <summary>A profile's table: per op, seconds and calls per step.</summary>
    static void PrintByOp(TextWriter output, string title, IReadOnlyList<(string Node, double Seconds, int Calls)> entries, int steps)
    {
        output.WriteLine(title);
        foreach (var (node, seconds, calls) in entries) output.WriteLine($"  {node,-28} {seconds / steps,8:F5} s  {calls / steps,4} calls");
    }
}
