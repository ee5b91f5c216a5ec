using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Bench.Step;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;
using SoftPrompt.Tuning.Training;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Bench.Methods;

/// <summary>
/// <c>bench methods</c>: the training step (forward, backward, AdamW on the method's parameters; the
/// base frozen) of every tuning method on the GPT-2-small-shaped random checkpoint
/// (bench/results/cache/gpt2-small-random, written once by the generate verb's RandomGpt2Checkpoint),
/// batch 8 × 128 text tokens, next to the same method built as PEFT builds it in plain PyTorch
/// (bench/reference/step_methods.py, run through run_reference.sh's default and tuned modes in the
/// same invocation) on the same weights, the same ids and the same initial method parameters.
/// Loss: PEFT's causal-LM loss with labels = the text — cross-entropy at every position whose next
/// token is text (the last virtual token predicts the first text token for prompt tuning and P-tuning).
/// One more row: the same prompt-tuning step with the LM head only at the last 16 text tokens of each
/// row (OutputPositions) against the head at every position followed by selecting those rows.
/// <c>--check</c> runs a tiny configuration in both (PyTorch in float64) and compares loss and gradients.
/// </summary>
public static class MethodsBench
{
    /// <summary>One benchmarked method: our constructor and the reference's kind ("prompt", "ptuning", "prefix", "deep", "lora").</summary>
    sealed record Spec(string Name, string Kind, int Virtual, Func<ICausalLanguageModel, Rng, TuningMethod> Create);

    static Spec[] Specs(int n, int prefixHidden, int loraR, float loraAlpha) =>
    [
        new($"prompt tuning, {n} virtual tokens", "prompt", n, (m, r) => PromptTuningMethod.Create(new PromptTuningConfig(n), m, r)),
        new($"P-tuning, MLP encoder (h = D), {n} tokens", "ptuning", n, (m, r) => PTuningMethod.Create(new PTuningConfig(n), m, r)),
        new($"prefix tuning, h = {prefixHidden}, prefix {n}", "prefix", 0, (m, r) => PrefixTuningMethod.Create(new PrefixTuningConfig(n, prefixHidden), m, r)),
        new($"deep prompts, prefix {n}", "deep", 0, (m, r) => DeepPromptMethod.Create(new DeepPromptConfig(n), m, r)),
        new($"LoRA r = {loraR}, alpha {loraAlpha:0}, c_attn", "lora", 0, (m, r) => LoraMethod.Create(new LoraConfig(loraR, loraAlpha, TargetModules: ["c_attn"]), m, r)),
    ];

    const int Batch = 8, Seq = 128, Virtual = 20, PrefixHidden = 512, LoraR = 8, AnswerTokens = 16;
    const float LoraAlpha = 16f;

    public static List<BenchRow> Run(BenchArgs args)
    {
        if (args.Has("check")) return Check();
        int steps = args.GetInt("steps", 5), warmup = args.GetInt("warmup", 2);
        string root = Reference.RepoRoot();
        string dir = Generate.RandomGpt2Checkpoint.Ensure(root);
        var model = ModelLoader.Load(dir);
        var rng = new Rng(4321);
        var text = new int[Batch * Seq];
        for (int i = 0; i < text.Length; i++) text[i] = rng.NextInt(model.Config.VocabSize);

        string work = Path.Combine(Path.GetTempPath(), $"softprompt-methods-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var specs = Specs(Virtual, PrefixHidden, LoraR, LoraAlpha);
        var only = args.Get("only")?.Split(',');
        if (only is not null) specs = [.. specs.Where(s => only.Contains(s.Kind))];
        var ours = new Dictionary<string, (double Median, double Min, float FirstLoss, long Trainable)>();
        var referenceMethods = new List<object>();
        foreach (var spec in specs)
        {
            var method = spec.Create(model, new Rng(77));
            method.CheckFits(model);
            string paramsFile = Path.Combine(work, spec.Kind + ".safetensors");
            SafetensorsWriter.Write(paramsFile, method.NamedParameters().Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value)));
            referenceMethods.Add(new { name = spec.Kind, kind = spec.Kind, @params = paramsFile, n = Virtual, lora_scale = LoraAlpha / LoraR });
            var batch = MakeBatch(text, Batch, Seq, spec.Virtual, answerTokens: null);
            var (median, min, first) = TimeSteps(spec.Kind, warmup, steps, method, () => BatchLoss.Compute(model, method, batch, training: true));
            ours[spec.Kind] = (median, min, first, method.TrainableParameters);
        }

        // The head only at the answer positions vs the head everywhere, then selecting them (prompt tuning).
        (double Median, double Min, float Loss) answerOnly = default, fullHead = default;
        if (only is null || only.Contains("head"))
        {
            var method = PromptTuningMethod.Create(new PromptTuningConfig(Virtual), model, new Rng(77));
            var batch = MakeBatch(text, Batch, Seq, Virtual, AnswerTokens);
            answerOnly = TimeSteps("answer-head", warmup, steps, method, () => BatchLoss.Compute(model, method, batch, training: true));
            method = PromptTuningMethod.Create(new PromptTuningConfig(Virtual), model, new Rng(77));
            fullHead = TimeSteps("full-head", warmup, steps, method, () =>
            {
                var plan = BatchLoss.Plan(method.Compute(), batch, training: true, method.StochasticRng);
                var logits = model.Forward(batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { Plan = plan });
                int v = logits.Shape[^1];
                return F.CrossEntropy(F.IndexSelect(F.Reshape(logits, logits.Length / v, v), batch.OutputPositions), batch.Targets, reuseLogitsForGrad: true);
            });
        }

        var rows = new List<BenchRow>();
        var refs = new Dictionary<string, JsonElement?>();
        string?[] notes = new string?[2];
        string[] modes = args.Has("noref") || referenceMethods.Count == 0 ? [] : ["default", "tuned"];
        for (int i = 0; i < modes.Length; i++)
        {
            string input = Path.Combine(work, "input.json"), output = Path.Combine(work, $"out-{modes[i]}.json");
            File.WriteAllText(input, JsonSerializer.Serialize(new
            {
                model = dir, batch = Batch, seq = Seq, ids = text, dtype = "float32", check = false, steps, warmup, methods = referenceMethods,
            }));
            Console.Error.WriteLine($"running the PyTorch reference ({modes[i]}) …");
            var sw = Stopwatch.StartNew();
            string? note = Reference.Run(modes[i], $"--script step_methods.py --input {input} --json {output}", out string stderr);
            foreach (var line in stderr.Split('\n').Where(l => l.Contains(" step ") || l.Contains("warmup"))) Console.Error.WriteLine($"  pytorch {modes[i]}: {line}");
            Console.Error.WriteLine($"  … {sw.Elapsed.TotalSeconds:F0} s");
            if (note is not null) { Console.Error.WriteLine($"note: PyTorch reference ({modes[i]}) not measured: {note}"); notes[i] = note; refs[modes[i]] = null; continue; }
            notes[i] = stderr.Split('\n').FirstOrDefault(l => l.StartsWith("run_reference.sh:"))?.Trim();
            refs[modes[i]] = JsonDocument.Parse(File.ReadAllText(output)).RootElement.Clone();
        }

        double worstLossDiff = 0;
        foreach (var spec in specs)
        {
            var (median, min, first, trainable) = ours[spec.Kind];
            foreach (var mode in modes)
            {
                double? theirs = null;
                if (refs[mode] is { } r && r.TryGetProperty(spec.Kind, out var m))
                {
                    theirs = m.GetProperty("step_seconds_median").GetDouble();
                    double diff = Math.Abs(first - m.GetProperty("first_loss").GetDouble());
                    worstLossDiff = Math.Max(worstLossDiff, diff);
                    Console.Error.WriteLine($"{spec.Kind}: first-step loss ours {first:F6}, PyTorch {mode} {m.GetProperty("first_loss").GetDouble():F6}");
                }
                string modeText = mode == "default" ? "PyTorch default (1 thread, glibc malloc)" : "PyTorch tuned (2 threads, tcmalloc, OpenMP OpenBLAS)";
                rows.Add(new BenchRow($"{spec.Name} ({trainable:N0} trainable) vs {modeText}", median, theirs, "s/step", LowerIsBetter: true,
                    Note: notes[Array.IndexOf(modes, mode)] ?? CoreTypeNote));
            }
            if (modes.Contains("tuned"))
                rows.Add(new BenchRow($"  fastest step of {spec.Kind} (ours, PyTorch tuned) — robust to a shared machine", min,
                    refs["tuned"] is { } rt && rt.TryGetProperty(spec.Kind, out var mt) ? mt.GetProperty("step_seconds_min").GetDouble() : null, "s/step", LowerIsBetter: true));
            if (modes.Length == 0) rows.Add(new BenchRow($"{spec.Name} ({trainable:N0} trainable)", median, null, "s/step", LowerIsBetter: true));
        }
        if (modes.Length > 0 && specs.Length > 0)
            rows.Add(new BenchRow("largest |first-step loss ours − PyTorch's| (same weights, ids, method parameters)", worstLossDiff, null, ""));
        if (answerOnly.Median > 0)
        {
            rows.Add(new BenchRow($"prompt tuning, loss on the last {AnswerTokens} tokens/row: head at those positions (OutputPositions) vs head everywhere then select (reference column)",
                answerOnly.Median, fullHead.Median, "s/step", LowerIsBetter: true, Note: "the head comparison's reference column is our own full-head step"));
            rows.Add(new BenchRow("  fastest step, answer-only head vs full head", answerOnly.Min, fullHead.Min, "s/step", LowerIsBetter: true));
            rows.Add(new BenchRow("  its first-step loss, answer-only head vs full head", answerOnly.Loss, fullHead.Loss, ""));
        }
        if (referenceMethods.Count > 0 && refs.GetValueOrDefault("tuned") is { } t && t.TryGetProperty("_info", out var info))
            rows.Add(new BenchRow("PyTorch tuned peak RSS (all methods in one process)", info.GetProperty("peak_rss_mib").GetDouble(), null, "MiB"));
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return rows;
    }

    static string? CoreTypeNote => Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } core
        ? $"OPENBLAS_CORETYPE={core} is set: PyTorch's OpenBLAS uses that kernel, not its best one for this CPU (bench/run unsets it)"
        : null;

    /// <summary>Warm-up then timed steps; the median and fastest seconds and the first step's loss.</summary>
    static (double Median, double Min, float FirstLoss) TimeSteps(string name, int warmup, int steps, TuningMethod method, Func<Tensor> loss)
    {
        var opt = new AdamW(method.Parameters().Where(p => p.RequiresGrad).ToList(), lr: 1e-3, weightDecay: 0.01);
        method.Train();
        var times = new List<double>();
        float first = float.NaN;
        for (int i = 0; i < warmup + steps; i++)
        {
            var sw = Stopwatch.StartNew();
            float value;
            using (TensorScope.Begin())
            {
                opt.ZeroGrad();
                var l = loss();
                value = l.Item();
                l.Backward();
                opt.Step();
            }
            double dt = sw.Elapsed.TotalSeconds;
            if (i == 0) first = value;
            Console.Error.WriteLine($"{name}: {(i < warmup ? "warmup" : "step"),-6} {i,2}: {dt,7:F3} s  loss {value:F6}");
            if (i >= warmup) times.Add(dt);
        }
        var s = times.OrderBy(x => x).ToList();
        return (s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2, s[0], first);
    }

    /// <summary>
    /// Rows of <paramref name="virtualTokens"/> placeholders then the text (soft slot 0..N−1); the
    /// loss positions are every position whose next token is text (PEFT's labels), or with
    /// answerTokens only those whose next token is among the row's last answerTokens text tokens.
    /// </summary>
    static TokenBatch MakeBatch(int[] text, int batch, int seq, int virtualTokens, int? answerTokens)
    {
        int t = virtualTokens + seq;
        var ids = new int[batch * t];
        var positions = new List<int>();
        var targets = new List<int>();
        var slots = new IReadOnlyList<SoftSlot>[batch];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(text, b * seq, ids, b * t + virtualTokens, seq);
            slots[b] = virtualTokens > 0 ? [new SoftSlot(0, 0, virtualTokens)] : [];
            int firstTarget = answerTokens is { } a ? t - a : Math.Max(virtualTokens, 1);   // position of the first token that is a target
            for (int p = firstTarget; p < t; p++)
            {
                positions.Add(b * t + p - 1);
                targets.Add(ids[b * t + p]);
            }
        }
        return new TokenBatch(batch, t, ids, [.. Enumerable.Repeat(1, batch * t)], slots, [.. positions], [.. targets]);
    }

    // ---------------------------------------------------------------------------------------------
    // --check

    /// <summary>A tiny random GPT-2 checkpoint, each method's step in both engines from the same numbers; loss and gradients compared (PyTorch in float64).</summary>
    static List<BenchRow> Check()
    {
        const int layers = 2, d = 64, heads = 4, vocab = 97, positions = 64, batch = 3, seq = 12, n = 5;
        string work = Path.Combine(Path.GetTempPath(), $"softprompt-methods-check-{Environment.ProcessId}");
        string dir = Path.Combine(work, "model");
        Directory.CreateDirectory(dir);
        var rng = new Rng(99);
        WriteTinyGpt2(dir, rng, layers, d, heads, vocab, positions);
        var model = ModelLoader.Load(dir);
        var text = new int[batch * seq];
        for (int i = 0; i < text.Length; i++) text[i] = rng.NextInt(vocab);

        var specs = Specs(n, 16, 4, 8f);
        var ours = new Dictionary<string, (float Loss, Dictionary<string, float[]> Grads)>();
        var referenceMethods = new List<object>();
        foreach (var spec in specs)
        {
            var method = spec.Create(model, new Rng(5));
            if (method is LoraMethod lora)   // lora_B starts at zero; give it values so lora_A's gradient is not zero
                foreach (var (_, _, b) in lora.Adapters) rng.FillNormal(b.Span, 0, 0.1f);
            string paramsFile = Path.Combine(work, spec.Kind + ".safetensors");
            SafetensorsWriter.Write(paramsFile, method.NamedParameters().Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value)));
            referenceMethods.Add(new { name = spec.Kind, kind = spec.Kind, @params = paramsFile, n, lora_scale = 8f / 4 });
            var tokenBatch = MakeBatch(text, batch, seq, spec.Virtual, answerTokens: null);
            method.Train();
            method.ZeroGrad();
            var loss = BatchLoss.Compute(model, method, tokenBatch, training: true);
            loss.Backward();
            ours[spec.Kind] = (loss.Item(), method.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Grad!.ToArray()));
            Tensors.Autograd.Tape.Clear();
        }
        string input = Path.Combine(work, "input.json"), output = Path.Combine(work, "out.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { model = dir, batch, seq, ids = text, dtype = "float64", check = true, steps = 1, warmup = 0, methods = referenceMethods }));
        string? note = Reference.Run("default", $"--script step_methods.py --input {input} --json {output}", out string stderr);
        if (note is not null) throw new InvalidOperationException("methods --check needs the PyTorch reference: " + note + "\n" + stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var rows = new List<BenchRow>();
        foreach (var spec in specs)
        {
            var r = doc.RootElement.GetProperty(spec.Kind);
            var (loss, grads) = ours[spec.Kind];
            double refLoss = r.GetProperty("loss").GetDouble();
            rows.Add(new BenchRow($"{spec.Kind}: |loss − PyTorch's| (ours {loss:F6}, PyTorch {refLoss:F6})", Math.Abs(loss - refLoss), null, ""));
            string worstName = "";
            double worst = 0;
            foreach (var g in r.GetProperty("grads").EnumerateObject())
            {
                double[] reference = [.. g.Value.EnumerateArray().Select(v => v.GetDouble())];
                if (!grads.TryGetValue(g.Name, out var mine)) throw new InvalidOperationException($"{spec.Kind}: PyTorch has a parameter '{g.Name}' we do not");
                double e = MaxRelError(mine, reference);
                if (e >= worst) (worst, worstName) = (e, g.Name);
            }
            rows.Add(new BenchRow($"{spec.Kind}: max rel. error of the gradients ({grads.Count} tensors; worst {worstName})", worst, null, ""));
        }
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return rows;
    }

    static double MaxRelError(float[] ours, double[] reference)
    {
        if (ours.Length != reference.Length) throw new InvalidOperationException($"gradient sizes differ: {ours.Length} vs {reference.Length}");
        double scale = reference.Max(v => Math.Abs(v)), worst = 0;
        for (int i = 0; i < ours.Length; i++)
            worst = Math.Max(worst, Math.Abs(ours[i] - reference[i]) / Math.Max(Math.Abs(reference[i]), 1e-3 * scale));
        return worst;
    }

    /// <summary>A GPT-2 checkpoint in Hugging Face layout (Conv1D [in, out]) with random, non-trivial weights.</summary>
    static void WriteTinyGpt2(string dir, Rng rng, int layers, int d, int heads, int vocab, int positions)
    {
        Tensor Normal(float mean, float std, params int[] shape)
        {
            var t = Tensor.ZerosOnHeap(shape);
            rng.FillNormal(t.Span, mean, std);
            return t;
        }
        var tensors = new List<KeyValuePair<string, Tensor>> { new("wte.weight", Normal(0, 0.1f, vocab, d)), new("wpe.weight", Normal(0, 0.05f, positions, d)) };
        for (int i = 0; i < layers; i++)
        {
            string h = $"h.{i}.";
            tensors.Add(new(h + "ln_1.weight", Normal(1, 0.05f, d)));
            tensors.Add(new(h + "ln_1.bias", Normal(0, 0.02f, d)));
            tensors.Add(new(h + "attn.c_attn.weight", Normal(0, 0.1f, d, 3 * d)));
            tensors.Add(new(h + "attn.c_attn.bias", Normal(0, 0.02f, 3 * d)));
            tensors.Add(new(h + "attn.c_proj.weight", Normal(0, 0.1f, d, d)));
            tensors.Add(new(h + "attn.c_proj.bias", Normal(0, 0.02f, d)));
            tensors.Add(new(h + "ln_2.weight", Normal(1, 0.05f, d)));
            tensors.Add(new(h + "ln_2.bias", Normal(0, 0.02f, d)));
            tensors.Add(new(h + "mlp.c_fc.weight", Normal(0, 0.1f, d, 4 * d)));
            tensors.Add(new(h + "mlp.c_fc.bias", Normal(0, 0.02f, 4 * d)));
            tensors.Add(new(h + "mlp.c_proj.weight", Normal(0, 0.1f, 4 * d, d)));
            tensors.Add(new(h + "mlp.c_proj.bias", Normal(0, 0.02f, d)));
        }
        tensors.Add(new("ln_f.weight", Normal(1, 0.05f, d)));
        tensors.Add(new("ln_f.bias", Normal(0, 0.02f, d)));
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gpt2", ["architectures"] = new[] { "GPT2LMHeadModel" }, ["vocab_size"] = vocab, ["n_embd"] = d,
            ["n_layer"] = layers, ["n_head"] = heads, ["n_positions"] = positions, ["n_inner"] = null, ["layer_norm_epsilon"] = 1e-5,
            ["activation_function"] = "gelu_new", ["tie_word_embeddings"] = true, ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
    }
}
