using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// POST /v1/completions, OpenAI's text_completion shape: the model is the base model's name or one of the caller's task
/// ids (its stored prompt then goes before the text, through the adapter's template). stream: true sends server-sent
/// events, one chunk a token and then [DONE]. Requests decode together through the <see cref="Scheduler"/>.
/// </summary>
internal static class CompletionsEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/completions", Complete);

    sealed record Request(string Model, string Prompt, int MaxTokens, float Temperature, float TopP, string[] Stop, ulong Seed, bool Stream);

    static Request Read(JsonObject body, ServerOptions options)
    {
        string model = RequestJson.RequiredString(body, "model", "model");
        if (body["prompt"] is JsonArray) throw ApiException.BadField("prompt", "a string is expected; arrays of prompts are not supported in this version.");
        string prompt = RequestJson.OptionalString(body, "prompt", "prompt") ?? throw ApiException.BadField("prompt", "required (a string).");
        if (prompt.Length > options.MaxPromptChars) throw ApiException.BadField("prompt", $"at most {options.MaxPromptChars} characters, got {prompt.Length}.");
        long maxTokens = RequestJson.OptionalInteger(body, "max_tokens", "max_tokens") ?? 16;
        if (maxTokens < 1 || maxTokens > options.MaxTokens) throw ApiException.BadField("max_tokens", $"between 1 and {options.MaxTokens}, got {maxTokens}.");
        double temperature = RequestJson.OptionalNumber(body, "temperature", "temperature") ?? 1;
        if (!(temperature >= 0 && temperature <= 2)) throw ApiException.BadField("temperature", $"between 0 and 2 (0: greedy), got {temperature}.");
        double topP = RequestJson.OptionalNumber(body, "top_p", "top_p") ?? 1;
        if (!(topP > 0 && topP <= 1)) throw ApiException.BadField("top_p", $"in (0, 1], got {topP}.");
        long? n = RequestJson.OptionalInteger(body, "n", "n");
        if (n is not null and not 1) throw ApiException.BadField("n", "only 1 completion a request is supported in this version.");
        long? seed = RequestJson.OptionalInteger(body, "seed", "seed");
        if (seed < 0) throw ApiException.BadField("seed", $"a non-negative integer, got {seed}.");
        bool stream = RequestJson.OptionalBool(body, "stream", "stream") ?? false;
        return new Request(model, prompt, (int)maxTokens, (float)temperature, (float)topP, ReadStop(body), seed is long s ? (ulong)s : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), stream);
    }

    static string[] ReadStop(JsonObject body)
    {
        if (!body.TryGetPropertyValue("stop", out var node) || node is null) return [];
        string[] stops = node switch
        {
            JsonValue v when v.TryGetValue(out string? s) => [s!],
            JsonArray a => [.. a.Select((x, i) => x is JsonValue v && v.TryGetValue(out string? s) ? s! : throw ApiException.BadField($"stop[{i}]", "a string is expected."))],
            _ => throw ApiException.BadField("stop", "a string or an array of strings is expected."),
        };
        if (stops.Length > 4) throw ApiException.BadField("stop", $"at most 4 stop strings, got {stops.Length}.");
        for (int i = 0; i < stops.Length; i++)
            if (stops[i].Length == 0) throw ApiException.BadField(node is JsonArray ? $"stop[{i}]" : "stop", "a stop string must not be empty.");
        return stops;
    }

    /// <summary>The request made ready for the model (on the scheduler's thread): its task's stored prompt start from the cache, its own ids, the decoding settings.</summary>
    static PreparedCompletion Prepare(Request r, TaskRecord? task, LoadedModel m, PromptCache prompts, IStore store)
    {
        int[] ids;
        RowPlan? plan = null;
        int positions, cached = 0;
        var deltas = PromptPlan.NoParameterDeltas;
        if (task is not null)
        {
            var served = prompts.GetOrAdd(task.Id, () => ServedPrompt.Make(m, store.MaterializeAdapter(task.Id)));
            using (Tape.NoGrad()) (ids, plan, positions, cached) = served.Prepare(m, r.Prompt);
            deltas = served.ParameterDeltas;
        }
        else
        {
            ids = m.Tokenizer.Encode(r.Prompt, addSpecialTokens: true);
            positions = ids.Length;
        }
        if (ids.Length == 0) throw ApiException.BadField("prompt", "the prompt encodes to no tokens.");
        int context = m.Model.Config.MaxPositions;
        if (positions >= context)
            throw ApiException.BadField("prompt", $"the prompt takes {positions} positions{(task is null ? "" : " with the task's prompt")}; the model's context is {context}.");
        if (positions + r.MaxTokens > context)
            throw ApiException.BadField("max_tokens", $"the prompt takes {positions} positions, so at most {context - positions} tokens fit the model's context of {context}; got {r.MaxTokens}.");
        var tokenizer = m.Tokenizer;
        var options = new GenerationOptions(r.MaxTokens, r.Temperature, 0, r.TopP, 1f, r.Seed, m.EosId)
        {
            StopTokenIds = m.Defaults.EosTokenIds,
            StopStrings = r.Stop,
            Decode = generated => tokenizer.Decode(generated.ToArray(), skipSpecialTokens: true),
        };
        return new PreparedCompletion(ids, plan, deltas, options, positions, cached);
    }

    static async Task Complete(HttpContext context, IStore store, ModelHost host, Scheduler scheduler, PromptCache prompts, UsageRecorder usage, ServerOptions options)
    {
        var tenant = ApiKeyAuth.TenantOf(context);
        var r = Read(await RequestJson.ReadObject(context.Request), options);
        TaskRecord? task = null;
        if (r.Model != host.ModelName)
            task = store.GetTask(tenant.Id, r.Model) ?? throw new ApiException(StatusCodes.Status404NotFound, $"model '{(r.Model.Length > 64 ? r.Model[..64] + "…" : r.Model)}' is neither the base model '{host.ModelName}' nor one of this API key's tasks.", "model");
        if (task is not null && task.State != "ready")
            throw new ApiException(StatusCodes.Status409Conflict, $"task '{task.Id}' is {task.State}, not ready: {(task.State is "queued" or "training" ? "its prompt is still being trained; GET /v1/tasks/" + task.Id + " shows its progress." : "it has no prompt to complete with.")}", "model");
        var m = host.Ready;
        string id = "cmpl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(TimeSpan.FromSeconds(options.RequestTimeoutSeconds));
        var work = new CompletionWork(lm => Prepare(r, task, lm, prompts, store), deadline.Token);
        scheduler.Submit(work);
        PreparedCompletion prepared;
        try { prepared = await work.Started.WaitAsync(deadline.Token); }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested) { throw PastDeadline(options, 0); }
        var text = new CompletionText(m, r.Stop);
        int n = 0;
        if (!r.Stream)
        {
            try
            {
                await foreach (int token in work.Tokens.ReadAllAsync(deadline.Token)) { text.Push(token); n++; }
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested) { throw PastDeadline(options, n); }
            text.Finish();
            usage.Record(tenant.Id, r.Model, prepared.PromptTokens, n);
            await context.Response.WriteAsJsonAsync(new
            {
                id, @object = "text_completion", created, model = r.Model,
                choices = new[] { new { text = text.ToString(), index = 0, logprobs = (object?)null, finish_reason = text.FinishReason(n, r.MaxTokens) } },
                usage = Usage(prepared, n),
            }, context.RequestAborted);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var ct = context.RequestAborted;
        try
        {
            await foreach (int token in work.Tokens.ReadAllAsync(deadline.Token))
            {
                n++;
                string piece = text.Push(token);
                if (piece.Length > 0) await Send(context, Chunk(id, created, r.Model, piece, null), ct);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Past the deadline with the stream under way: OpenAI's streams end with an error object in that case.
            var e = PastDeadline(options, n);
            await Send(context, new { error = new { message = e.Message, type = "timeout", code = 503 } }, ct);
            return;
        }
        string last = text.Finish();
        usage.Record(tenant.Id, r.Model, prepared.PromptTokens, n);
        await Send(context, Chunk(id, created, r.Model, last, text.FinishReason(n, r.MaxTokens), Usage(prepared, n)), ct);
        await context.Response.WriteAsync("data: [DONE]\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    static ApiException PastDeadline(ServerOptions options, int generated) =>
        new(StatusCodes.Status503ServiceUnavailable, $"the completion did not finish within this server's {options.RequestTimeoutSeconds} s (queue included; {generated} tokens were generated); the server is busy, retry later.")
        { RetryAfterSeconds = 5 };

    /// <summary>OpenAI's usage, with prompt_tokens_details.cached_tokens: the positions the task's stored prompt start already held.</summary>
    static object Usage(PreparedCompletion p, int generated) => new
    {
        prompt_tokens = p.PromptTokens, completion_tokens = generated, total_tokens = p.PromptTokens + generated,
        prompt_tokens_details = new { cached_tokens = p.CachedTokens },
    };

    static object Chunk(string id, long created, string model, string text, string? finish, object? usage = null) => new
    {
        id, @object = "text_completion", created, model,
        choices = new[] { new { text, index = 0, logprobs = (object?)null, finish_reason = finish } },
        usage,
    };

    static async Task Send(HttpContext context, object chunk, CancellationToken ct)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk, JsonSerializerOptions.Web) + "\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }
}

/// <summary>
/// The completion's text as tokens arrive: decoded incrementally, and cut before the first stop string (OpenAI leaves the
/// stop sequence out). Text that could be the start of a stop string is held back until it is known not to be, so the
/// streamed pieces join to exactly the non-streamed text.
/// </summary>
internal sealed class CompletionText(LoadedModel m, string[] stops)
{
    readonly SoftPrompt.Tokenizers.TokenStreamDecoder _decoder = m.Tokenizer.CreateStreamDecoder(skipSpecialTokens: true);
    readonly System.Text.StringBuilder _all = new();
    string _pending = "";
    bool _stopped, _endToken;

    /// <summary>The text safe to send after this token.</summary>
    public string Push(int token)
    {
        _endToken = token == m.EosId || m.Defaults.EosTokenIds.Contains(token);
        return Take(_decoder.Push(token));
    }

    /// <summary>What is left once generation ended.</summary>
    public string Finish()
    {
        string rest = Take(_decoder.Flush());
        if (!_stopped) { rest += _pending; _all.Append(_pending); _pending = ""; }
        return rest;
    }

    /// <summary>The whole text so far (after Finish: the completion).</summary>
    public override string ToString() => _all.ToString();

    public string FinishReason(int generated, int maxTokens) => _stopped || _endToken || generated < maxTokens ? "stop" : "length";

    string Take(string delta)
    {
        if (_stopped || delta.Length == 0) return "";
        _pending += delta;
        int cut = -1;
        foreach (var s in stops)
        {
            int i = _pending.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        string send;
        if (cut >= 0) { _stopped = true; send = _pending[..cut]; _pending = ""; }
        else
        {
            int hold = 0;
            foreach (var s in stops)
                for (int k = Math.Min(s.Length - 1, _pending.Length); k > hold; k--)
                    if (_pending.AsSpan().EndsWith(s.AsSpan(0, k), StringComparison.Ordinal)) { hold = k; break; }
            send = _pending[..^hold];
            _pending = _pending[^hold..];
        }
        _all.Append(send);
        return send;
    }
}
