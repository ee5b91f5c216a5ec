using System.CommandLine;
using System.Text;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Cli;

/// <summary><c>softprompt tokenize --tokenizer FILE --input FILE</c>: one JSON array of ids per input line.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "A tokenizer.json, or a directory holding tokenizer.json (or GPT-2's vocab.json + merges.txt).", Required = true };
        var input = new Option<string>("--input") { Description = "A UTF-8 text file; each line is encoded on its own.", Required = true };
        var special = new Option<bool>("--add-special-tokens") { Description = "Add the tokenizer's special tokens (e.g. BOS) around each line." };
        var cmd = new Command("tokenize", "Encode each line of a text file; print one JSON array of token ids per line.") { tokenizer, input, special };
        cmd.SetAction(parse =>
        {
            string tokPath = parse.GetValue(tokenizer)!, inPath = parse.GetValue(input)!;
            if (!File.Exists(inPath)) return Fail($"input file not found: {inPath}");
            Tokenizer tok;
            try { tok = Directory.Exists(tokPath) ? Tokenizer.FromDirectory(tokPath) : File.Exists(tokPath) ? Tokenizer.FromFile(tokPath) : throw new FileNotFoundException($"tokenizer not found: {tokPath}"); }
            catch (Exception e) when (e is IOException or TokenizerFormatException) { return Fail(e.Message); }
            bool add = parse.GetValue(special);
            using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            var line = new StringBuilder();
            foreach (string text in File.ReadLines(inPath, Encoding.UTF8))
            {
                line.Clear().Append('[');
                int[] ids = tok.Encode(text, add);
                for (int i = 0; i < ids.Length; i++) line.Append(i == 0 ? "" : ",").Append(ids[i]);
                output.WriteLine(line.Append(']'));
            }
            return 0;
        });
        return cmd;
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
