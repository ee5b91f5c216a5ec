namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The synthetic tasks' 10-token vocabulary as a Hugging Face tokenizer.json, written beside every exported model so that
/// the shipped models work with every command that reads a checkpoint's tokenizer (eval, generate, analyze attention):
/// a WordLevel model over '0'–'9' (ids 0–9, as <see cref="DigitEncoder"/>), whitespace dropped and each digit a token
/// (WhitespaceSplit, then Digits with individual_digits), the Fuse decoder so that ids decode to the digits with no
/// spaces. Its unk_token "[UNK]" (the library requires one) is not in the vocabulary, as the model has no id for it: any other character is an error, as in the
/// `tokenizers` library.
/// </summary>
public static class DigitTokenizerJson
{
    public const string FileName = "tokenizer.json";

    public static string Text { get; } = """
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": [],
          "normalizer": null,
          "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
              { "type": "WhitespaceSplit" },
              { "type": "Digits", "individual_digits": true }
            ]
          },
          "post_processor": null,
          "decoder": { "type": "Fuse" },
          "model": {
            "type": "WordLevel",
            "vocab": { "0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9 },
            "unk_token": "[UNK]"
          }
        }

        """;
}
