using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Metrics;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Training;

/// <summary>
/// Evaluates a method on examples: the answer-token loss, and the task's metrics — accuracy and
/// macro-F1 from verbalizer scoring for classification; exact match, token F1, ROUGE-L and BLEU of
/// greedy generations for generation tasks.
/// </summary>
public static class Evaluator
{
    public static EvalResult Evaluate(ICausalLanguageModel model, TuningMethod method, TuningTask task, IReadOnlyList<Example> examples,
        int batchSize = 8, int maxNewTokens = 32, CancellationToken cancellationToken = default)
    {
        using var noGrad = Tape.NoGrad();
        method.Eval();
        try
        {
            var gold = examples.Select(task.Gold).ToArray();
            if (HeadClassification.Applies(method, task)) return EvaluateHead(model, method, task, examples, gold, batchSize, cancellationToken);
            var encoded = task.Encode(examples, "evaluation data");
            double loss = MeanLoss(model, method, encoded, batchSize, cancellationToken);
            var predictions = task.Kind == TaskKind.Classification
                ? Classify(model, method, task, examples, batchSize, cancellationToken)
                : Generate(model, method, task, examples, batchSize, maxNewTokens, gold, cancellationToken);
            var metrics = new Dictionary<string, double>();
            if (task.Kind == TaskKind.Classification)
            {
                metrics["accuracy"] = Accuracy.Compute(gold, predictions);
                metrics["macro_f1"] = MacroF1.Compute(gold, predictions, task.Scorer!.Labels);
            }
            else
            {
                metrics["exact_match"] = gold.Zip(predictions).Average(p => SquadText.ExactMatch(p.Second, p.First) ? 1.0 : 0.0);
                metrics["token_f1"] = gold.Zip(predictions).Average(p => SquadText.TokenF1(p.Second, p.First));
                metrics["rouge_l"] = RougeL.Corpus(predictions, [.. gold.Select(g => (IReadOnlyList<string>)[g])]);
                metrics["bleu"] = CorpusBleu.Compute(predictions, [.. gold.Select(g => (IReadOnlyList<string>)[g])]);
            }
            return new EvalResult(loss, metrics, predictions, gold);
        }
        finally { method.Train(); }
    }

    /// <summary>Classification through the method's head: mean label cross-entropy, accuracy, macro-F1.</summary>
    static EvalResult EvaluateHead(ICausalLanguageModel model, TuningMethod method, TuningTask task, IReadOnlyList<Example> examples, string[] gold,
        int batchSize, CancellationToken ct)
    {
        var rows = HeadClassification.Encode(task, examples, "evaluation data");
        var labels = task.Scorer!.Labels;
        var predictions = new string[rows.Length];
        double loss = 0;
        for (int start = 0; start < rows.Length; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = TensorScope.Begin();
            var chunk = rows[start..Math.Min(rows.Length, start + batchSize)];
            var logits = HeadClassification.Logits(model, method, [.. chunk.Select(r => r.Prompt)]);
            loss += F.CrossEntropy(logits, [.. chunk.Select(r => r.Label)]).Span[0] * (double)chunk.Length;
            int k = labels.Count;
            for (int i = 0; i < chunk.Length; i++)
                predictions[start + i] = labels[System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Span.Slice(i * k, k))];
        }
        var metrics = new Dictionary<string, double> { ["accuracy"] = Accuracy.Compute(gold, predictions), ["macro_f1"] = MacroF1.Compute(gold, predictions, labels) };
        return new EvalResult(loss / rows.Length, metrics, predictions, gold);
    }

    /// <summary>Mean cross-entropy over every answer token of the set (not the mean of batch means).</summary>
    public static double MeanLoss(ICausalLanguageModel model, TuningMethod method, IReadOnlyList<EncodedExample> encoded, int batchSize, CancellationToken cancellationToken = default)
    {
        var collator = new Collator();
        double total = 0;
        long tokens = 0;
        foreach (var chunk in encoded.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = TensorScope.Begin();
            var batch = collator.Collate(chunk);
            total += BatchLoss.Compute(model, method, batch).Span[0] * (double)batch.Targets.Length;
            tokens += batch.Targets.Length;
        }
        return total / tokens;
    }

    static string[] Classify(ICausalLanguageModel model, TuningMethod method, TuningTask task, IReadOnlyList<Example> examples, int batchSize, CancellationToken ct)
    {
        var scorer = task.Scorer!;
        var collator = new Collator();
        var predictions = new string[examples.Count];
        int perExample = Math.Max(1, batchSize / Math.Max(1, scorer.Labels.Count));
        for (int start = 0; start < examples.Count; start += perExample)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = TensorScope.Begin();
            var group = Enumerable.Range(start, Math.Min(perExample, examples.Count - start)).Select(i => scorer.Candidates(examples[i])).ToArray();
            var batch = collator.Collate([.. group.SelectMany(g => g.Candidates.Select(c => c.Sequence))]);
            var logProbs = F.LogSoftmax(BatchLoss.AnswerLogits(model, method, batch));   // [N, V]
            int v = logProbs.Size(-1);
            var target = new float[batch.Targets.Length];
            for (int i = 0; i < target.Length; i++) target[i] = logProbs.Span[i * v + batch.Targets[i]];
            int at = 0;
            for (int g = 0; g < group.Length; g++)
            {
                int n = group[g].Candidates.Sum(c => c.Sequence.AnswerIds.Length);
                predictions[start + g] = scorer.Score(group[g], target.AsSpan(at, n)).Predicted;
                at += n;
            }
        }
        return predictions;
    }

    static string[] Generate(ICausalLanguageModel model, TuningMethod method, TuningTask task, IReadOnlyList<Example> examples, int batchSize,
        int maxNewTokens, string[] gold, CancellationToken ct)
    {
        var output = method.Compute();
        int prefix = output.Prefix?.Length ?? 0;
        var predictions = new string[examples.Count];
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var prompts = Enumerable.Range(start, Math.Min(batchSize, examples.Count - start))
                .Select(i => task.Template.RenderPrompt(examples[i], task.Encoder, task.Options)).ToArray();
            var plan = output.Plan(prompts.Select(p => p.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))));
            // Never past the model's context: n_positions counts the prefix and the prompt.
            int room = model.Config.MaxPositions - prefix - prompts.Max(p => p.Ids.Length);
            var options = new GenerationOptions(MaxNewTokens: Math.Clamp(room, 0, maxNewTokens), EosTokenId: task.Options.EosId);
            var outputs = Generator.GenerateBatch(model, [.. prompts.Select(p => (IReadOnlyList<int>)p.Ids)], options, plan: plan);
            for (int i = 0; i < outputs.Length; i++)
            {
                var ids = outputs[i];
                if (task.Options.EosId is int eos && ids.Count > 0 && ids[^1] == eos) ids.RemoveAt(ids.Count - 1);
                predictions[start + i] = task.Encoder.Decode(ids.ToArray()).Trim();
            }
        }
        return predictions;
    }
}
