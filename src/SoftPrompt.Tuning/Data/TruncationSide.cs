namespace SoftPrompt.Tuning.Data;

/// <summary>Which end of a too-long field loses tokens (Hugging Face's truncation_side).</summary>
public enum TruncationSide { Right, Left }
