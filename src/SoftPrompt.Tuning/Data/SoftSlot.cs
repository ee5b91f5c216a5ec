namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Positions Position..Position+Count-1 of a row take virtual tokens VirtualStart..VirtualStart+Count-1
/// of the method's prompt (what SoftPrompt.Models.Plans.SoftTokens places). The ids there are placeholders.
/// </summary>
public sealed record SoftSlot(int Position, int VirtualStart, int Count);
