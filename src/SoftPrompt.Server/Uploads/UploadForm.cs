using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using SoftPrompt.Server.Hosting;

namespace SoftPrompt.Server.Uploads;

/// <summary>
/// POST /v1/adapters' multipart/form-data body, streamed part by part into memory (never into temporary files): "file"
/// (the archive, up to MaxAdapterBytes, else 413) and "name" (the task's name). Other parts are read past and ignored, as
/// unknown JSON fields are elsewhere. A client's file name for the archive is never looked at.
/// </summary>
internal static class UploadForm
{
    public const string FileField = "file", NameField = "name";

    public static async Task<(string Name, byte[] Archive)> Read(HttpRequest request, ServerOptions options)
    {
        var ct = request.HttpContext.RequestAborted;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType,
                $"the body must be multipart/form-data with the fields '{FileField}' (a .zip or .tar.gz of the adapter's folder) and '{NameField}'; got '{Bounded(request.ContentType ?? "no Content-Type")}'.");
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).ToString();
        if (boundary.Length is 0 or > 200) throw new ApiException(StatusCodes.Status400BadRequest, "the multipart/form-data Content-Type has no boundary (or one over 200 characters).");

        string? name = null;
        byte[]? archive = null;
        var reader = new MultipartReader(boundary, request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
        try
        {
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(ct)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    throw new ApiException(StatusCodes.Status400BadRequest, "a part of the form has no 'Content-Disposition: form-data; name=…' header.");
                string field = HeaderUtilities.RemoveQuotes(disposition.Name).ToString();
                switch (field)
                {
                    case FileField:
                        if (archive is not null) throw ApiException.BadField(FileField, "sent twice; one archive a request.");
                        archive = await ReadBounded(section.Body, options.MaxAdapterBytes, ct) ?? throw new ApiException(StatusCodes.Status413PayloadTooLarge,
                            $"{FileField}: the archive is larger than this server's limit ({options.MaxAdapterBytes:N0} bytes).", FileField);
                        break;
                    case NameField:
                        if (name is not null) throw ApiException.BadField(NameField, "sent twice.");
                        var bytes = await ReadBounded(section.Body, options.MaxNameLength * 4L, ct)
                            ?? throw ApiException.BadField(NameField, $"at most {options.MaxNameLength} characters.");
                        try { name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
                        catch (DecoderFallbackException) { throw ApiException.BadField(NameField, "not valid UTF-8."); }
                        break;
                    default:
                        await section.Body.CopyToAsync(Stream.Null, ct);   // bounded by the request's body limit
                        break;
                }
            }
        }
        // InvalidDataException: malformed parts; IOException: a body that ends before the closing boundary, or framing that
        // breaks (a body over the limit is a BadHttpRequestException, an IOException too, and stays a 413).
        catch (Exception e) when (e is InvalidDataException || (e is IOException && e is not BadHttpRequestException))
        { throw new ApiException(StatusCodes.Status400BadRequest, $"the multipart/form-data body cannot be read: {e.Message}"); }

        if (archive is null) throw ApiException.BadField(FileField, "required: the adapter's folder as a .zip or .tar.gz (adapter_config.json, adapter_model.safetensors, optionally softprompt.json).");
        if (archive.Length == 0) throw ApiException.BadField(FileField, "the archive is empty.");
        if (name is null) throw ApiException.BadField(NameField, "required: the task's name.");
        name = name.Trim();
        if (name.Length == 0) throw ApiException.BadField(NameField, "must not be empty.");
        if (name.Length > options.MaxNameLength) throw ApiException.BadField(NameField, $"at most {options.MaxNameLength} characters, got {name.Length}.");
        return (name, archive);
    }

    /// <summary>The part's bytes, or null as soon as there are more than limit.</summary>
    static async Task<byte[]?> ReadBounded(Stream body, long limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > limit) return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    static string Bounded(string s) => s.Length > 80 ? s[..80] + "…" : s;
}
