using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;
using SoftPrompt.Server.Uploads;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// POST /v1/adapters: a PEFT adapter trained elsewhere (an archive of its folder) becomes a task, ready at once. The archive
/// is unpacked in memory and its names and sizes checked (<see cref="AdapterArchive"/>); its files are written under their
/// allow-listed names to a staging folder beside the adapters, loaded there with the project's own adapter reader against
/// the served model (shapes, config fields, template), and only then renamed to the task's adapter folder and the task row
/// inserted. Any refusal is 4xx naming the field or the archive entry, and leaves nothing behind.
/// </summary>
internal static class AdaptersEndpoints
{
    /// <summary>Room for the form's boundaries, headers and name beside the archive itself.</summary>
    const long FormOverheadBytes = 64 * 1024;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/adapters", Upload)
        .AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["multipart/form-data"] = new()
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string> { UploadForm.FileField, UploadForm.NameField },
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                [UploadForm.FileField] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "a .zip or .tar.gz of the adapter's folder" },
                                [UploadForm.NameField] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "the task's name" },
                            },
                        },
                    },
                },
            };
            return Task.CompletedTask;
        });

    static async Task<IResult> Upload(HttpContext context, IStore store, ModelHost host, Scheduler scheduler, ServerOptions options)
    {
        var tenant = ApiKeyAuth.TenantOf(context);
        // An archive outgrows the JSON routes' body limit: this request alone gets the adapters' limit, set before any byte is read.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = options.MaxAdapterBytes + FormOverheadBytes;
        var (name, archive) = await UploadForm.Read(context.Request, options);
        var files = AdapterArchive.Unpack(archive, options.MaxAdapterUnpackedBytes);
        _ = host.Ready;   // 503 while the model loads, before anything is written

        string id = StoreIds.NewTaskId(), final = store.AdapterPath(id);
        // A sibling of the task's folder (same filesystem: the last step is a rename), named by the server alone.
        string staging = final + ".upload";
        JsonObject prompt;
        string method;
        try
        {
            Directory.CreateDirectory(staging);
            foreach (var (file, bytes) in files) await File.WriteAllBytesAsync(Path.Combine(staging, file), bytes, context.RequestAborted);
            (method, prompt) = await scheduler.RunAsync(m => Check(staging, m, options), context.RequestAborted);
            Directory.Move(staging, final);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        // Stored for every replica before the row exists, as a made task's adapter is.
        try { store.SaveAdapter(id, final); }
        catch { store.DeleteAdapter(id); throw; }
        var record = new TaskRecord(id, tenant.Id, name, method, "uploaded", DateTimeOffset.UtcNow, "ready", prompt.ToJsonString());
        try { store.InsertTask(record); }
        catch { store.DeleteAdapter(id); throw; }
        return Results.Json(TasksEndpoints.View(record), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>Loads the staged adapter for the model and renders a prompt through it; returns its method and the task's prompt description.</summary>
    static (string Method, JsonObject Prompt) Check(string staging, LoadedModel m, ServerOptions options)
    {
        // The reader's messages name files by their staging path: show them by their names in the archive.
        string Clean(string message) => message.Replace(staging + Path.DirectorySeparatorChar, "").Replace(staging, "the archive");
        LoadedAdapter adapter;
        try
        {
            adapter = AdapterDirectory.Load(staging, m.Model);
            using (Tape.NoGrad()) AdapterPrompt.Build(adapter, m.Encoder, "x");   // the template, the token ids and the plan all work for this model
        }
        catch (Exception e) when (e is AdapterFormatException or SafetensorsException or DataFormatException or ArgumentException)
        {
            throw ApiException.BadField(AdapterArchive.Field, Clean(e.Message));
        }
        var prompt = new JsonObject
        {
            ["source"] = "upload",
            ["peft_type"] = (string?)adapter.Config["peft_type"],
            ["length"] = adapter.Method.VirtualTokens,
            ["virtual_tokens"] = adapter.Method.VirtualTokens,
            ["trainable_parameters"] = adapter.Method.TrainableParameters,
        };
        if (adapter.Extras?["metal"]?["text"] is JsonValue text) prompt["text"] = text.DeepClone();   // a discrete prompt made elsewhere reads as its text
        else
        {
            SoftPrompt.Tensors.Tensor? tokens;
            using (Tape.NoGrad()) tokens = adapter.Method.Compute().VirtualTokens;
            if (PromptNearestTokens.Json(tokens, m, options.NearestTokens) is { } nearest) prompt["nearest_tokens"] = nearest;
        }
        return (adapter.Method.Name, prompt);
    }
}
