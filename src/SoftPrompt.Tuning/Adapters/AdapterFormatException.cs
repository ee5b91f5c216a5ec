namespace SoftPrompt.Tuning.Adapters;

/// <summary>An adapter directory that cannot be read, or that does not fit the model; the message names the file and the field or tensor.</summary>
public sealed class AdapterFormatException(string message) : Exception(message);
