namespace SoftPrompt.Tuning.Data;

/// <summary>A template that does not parse or cannot serve a causal LM; the message quotes the template and the column.</summary>
public sealed class TemplateException(string message) : Exception(message);
