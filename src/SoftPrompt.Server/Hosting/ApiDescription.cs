using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// The OpenAPI document at /openapi/v1.json (no key needed: it describes, it serves nothing). Each route's operation id and
/// summary come from one table here rather than from the endpoint files, so that those stay about handling requests; the
/// /v1 operations are marked as needing the bearer key.
/// </summary>
internal static class ApiDescription
{
    public const string Route = "/openapi/{documentName}.json";
    const string Bearer = "bearer";

    /// <summary>"METHOD route" (as ASP.NET Core's API explorer writes the route) → (operation id, summary).</summary>
    static readonly Dictionary<string, (string Id, string Summary)> Operations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["GET healthz"] = ("health", "200 while the process runs."),
        ["GET readyz"] = ("readiness", "200 once the model (and PGM) are loaded; 503 with the reason before."),
        ["GET v1/models"] = ("listModels", "OpenAI's model list: the base model, then the caller's tasks."),
        ["POST v1/tasks"] = ("createTask", "Make a task from examples ({name, method: \"metal\", examples: [{input, output}]}); 201 and the task."),
        ["GET v1/tasks"] = ("listTasks", "The caller's tasks."),
        ["GET v1/tasks/{id}"] = ("getTask", "One of the caller's tasks: its state and its prompt (text, or nearest tokens of a soft prompt)."),
        ["DELETE v1/tasks/{id}"] = ("deleteTask", "Remove a task and its adapter."),
        ["POST v1/completions"] = ("createCompletion", "OpenAI's text completion with the base model or a task; stream: true answers server-sent events."),
        ["POST v1/adapters"] = ("uploadAdapter", "Upload a PEFT adapter archive (.zip or .tar.gz, multipart fields 'file' and 'name') as a task; 201 and the task."),
    };

    public static IServiceCollection AddApiDescription(this IServiceCollection services) => services.AddOpenApi(o =>
    {
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SoftPrompt";
            document.Info.Description = "One frozen language model serving many tasks, each a prompt made from a few examples. "
                + "Every /v1 route needs 'Authorization: Bearer KEY'; errors are RFC 7807 problem details with the field at fault.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "an API key (sp-…)" };
            return Task.CompletedTask;
        });
        o.AddOperationTransformer((operation, context, _) =>
        {
            var d = context.Description;
            string route = d.RelativePath?.TrimEnd('/') ?? "";
            if (Operations.TryGetValue($"{d.HttpMethod} {route}", out var named)) (operation.OperationId, operation.Summary) = named;
            if (route.StartsWith("v1/", StringComparison.Ordinal))
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] }];
            return Task.CompletedTask;
        });
    });

    public static void Map(IEndpointRouteBuilder app) => app.MapOpenApi(Route);
}
