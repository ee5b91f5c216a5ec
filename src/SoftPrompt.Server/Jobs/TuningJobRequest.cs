using System.Text.Json.Nodes;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Server.Jobs;

/// <summary>
/// What a tuning task asks for: the method and its few settings, the template, the examples. Read and checked when the
/// task is created (every error names its field, before anything is stored), kept as the job's request JSON, and read
/// back by the replica that runs the job.
/// </summary>
internal sealed record TuningJobRequest(string Method, int Steps, double? LearningRate, int VirtualTokens, int LoraRank, int BatchSize, ulong Seed,
    string? Template, IReadOnlyList<(string Input, string Output)> Examples)
{
    /// <summary>The methods a task can be trained with here (full fine-tuning would hold a copy of the model per task).</summary>
    public static readonly string[] Methods = ["prompt", "ptuning", "prefix", "deep", "lora"];

    public const string InputField = "input", OutputField = "output";

    /// <summary>The request's fields (examples already read and checked by the endpoint).</summary>
    public static TuningJobRequest Read(JsonObject body, string method, IReadOnlyList<Example> examples, ServerOptions options)
    {
        if (!Methods.Contains(method)) throw ApiException.BadField("method", $"'{method}' is not a method a task can be trained with here; use metal or one of {string.Join(", ", Methods)}.");
        int steps = (int)Range(body, "steps", 100, 1, options.MaxTrainingSteps);
        double? lr = RequestJson.OptionalNumber(body, "learning_rate", "learning_rate");
        if (lr is not null && !(lr > 0 && lr <= 1)) throw ApiException.BadField("learning_rate", $"in (0, 1], got {lr}.");
        int virtualTokens = (int)Range(body, "num_virtual_tokens", 8, 1, 256);
        int rank = (int)Range(body, "lora_r", 8, 1, 256);
        int batch = (int)Range(body, "batch_size", Math.Min(8, examples.Count), 1, 256);
        long? seed = RequestJson.OptionalInteger(body, "seed", "seed");
        if (seed < 0) throw ApiException.BadField("seed", $"a non-negative integer, got {seed}.");
        string? template = RequestJson.OptionalString(body, "template", "template");
        if (template is not null)
        {
            Template parsed;
            try { parsed = Tuning.Data.Template.Parse(template); }
            catch (TemplateException e) { throw ApiException.BadField("template", e.Message); }
            if (parsed.Fields.Count != 1 || parsed.Fields[0] != InputField)
                throw ApiException.BadField("template", "the template reads one field, {input}, and ends with {answer} (the example's output), e.g. \"{soft:8}{input} => {answer}\".");
        }
        return new TuningJobRequest(method, steps, lr, virtualTokens, rank, batch, seed is long s ? (ulong)s : 42UL, template,
            [.. examples.Select(e => (e.Field(InputField), e.Field(OutputField)))]);
    }

    static long Range(JsonObject body, string field, long fallback, long min, long max)
    {
        long v = RequestJson.OptionalInteger(body, field, field) ?? fallback;
        if (v < min || v > max) throw ApiException.BadField(field, $"between {min} and {max}, got {v}.");
        return v;
    }

    /// <summary>
    /// The method, task and trainer settings for a model: the template defaults to the server's episode format —
    /// "{soft:N}{input}SEP {answer}" for the methods with virtual tokens, "{input}SEP {answer}" for the others (the answer:
    /// the example's output) — so a
    /// tuned task's requests look like a MetaL task's.
    /// </summary>
    public (TuningMethod Method, TuningTask Task, List<Example> Train, TrainerOptions Options) Build(LoadedModel m)
    {
        var definition = MethodRegistry.Get(Method);
        var method = definition.Create(new MethodOptions
        {
            VirtualTokens = VirtualTokens, LoraRank = LoraRank, LoraAlpha = 2f * LoraRank, Encode = t => m.Encoder.Encode(t),
        }, m.Model, new Rng(Seed));
        string separator = m.Format.Separator;
        string template = Template ?? (method.VirtualTokens > 0 ? $"{{soft:{method.VirtualTokens}}}{{input}}{separator} {{answer}}" : $"{{input}}{separator} {{answer}}");
        var task = new TuningTask(Tuning.Data.Template.Parse(template), m.Encoder, new RenderOptions { AnswerField = OutputField, EosId = m.EosId });
        var train = Examples.Select((e, i) => new Example(new Dictionary<string, string> { [InputField] = e.Input, [OutputField] = e.Output }, "examples", i)).ToList();
        var options = new TrainerOptions
        {
            MaxSteps = Steps, BatchSize = Math.Min(BatchSize, train.Count), LearningRate = LearningRate ?? definition.DefaultLearningRate, Seed = Seed,
            CheckpointEvery = Math.Clamp(Steps / 10, 1, 50), LogEvery = 1,
        };
        return (method, task, train, options);
    }

    public string ToJson() => new JsonObject
    {
        ["method"] = Method, ["steps"] = Steps, ["learning_rate"] = LearningRate, ["num_virtual_tokens"] = VirtualTokens, ["lora_r"] = LoraRank,
        ["batch_size"] = BatchSize, ["seed"] = Seed, ["template"] = Template,
        ["examples"] = new JsonArray([.. Examples.Select(e => (JsonNode)new JsonObject { [InputField] = e.Input, [OutputField] = e.Output })]),
    }.ToJsonString();

    public static TuningJobRequest FromJson(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        return new TuningJobRequest((string)o["method"]!, (int)o["steps"]!, (double?)o["learning_rate"], (int)o["num_virtual_tokens"]!, (int)o["lora_r"]!,
            (int)o["batch_size"]!, (ulong)o["seed"]!, (string?)o["template"],
            [.. o["examples"]!.AsArray().Select(e => ((string)e![InputField]!, (string)e[OutputField]!))]);
    }
}
