namespace SoftPrompt.Tuning.Data;

/// <summary>One construct of a parsed template. Column is 1-based in the template source (for messages).</summary>
public abstract record TemplatePart(int Column);

/// <summary>Literal text, escapes already resolved ("{{" is "{").</summary>
public sealed record TextPart(string Text, int Column) : TemplatePart(Column);

/// <summary><c>{name}</c>: the example's field, inserted as text.</summary>
public sealed record FieldPart(string Name, int Column) : TemplatePart(Column);

/// <summary><c>{soft:N}</c>: N virtual tokens, numbered VirtualStart.. in template order.</summary>
public sealed record SoftPart(int Count, int VirtualStart, int Column) : TemplatePart(Column);

/// <summary><c>{answer}</c>: where the target (or a verbalizer word) goes; last in a causal LM template.</summary>
public sealed record AnswerPart(int Column) : TemplatePart(Column);
