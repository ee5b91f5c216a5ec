using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The synthetic multi-task world MetaL-Prompt is reproduced in (no pretrained English model can be had here): inputs
/// are Length symbols of an Alphabet-letter alphabet (a…h), a task is a <see cref="SymbolRule"/> — one of 8! maps
/// composed with an order operation (identity or reverse in training: 80,640 tasks). A demonstration is "abcde> fghij|".
/// Splits by rule: maps whose hash falls in the test tenth are unseen in pretraining and meta-training (meta-test tasks
/// of the training families), and the RotateLeft order is held out as a whole family (MetaICL's non-X → X).
/// </summary>
public static class SymbolWorld
{
    public const int Alphabet = 8, Length = 5;
    public const char Separator = '>', Space = ' ', Delimiter = '|';

    /// <summary>Token ids: a…h are 0…7, then '>', ' ', '|' and [UNK].</summary>
    public const int SeparatorId = Alphabet, SpaceId = Alphabet + 1, DelimiterId = Alphabet + 2, VocabSize = Alphabet + 4;

    /// <summary>
    /// The orders of pretraining and meta-training. Two: with five, a 4-layer target at 1,450 steps (0.3 h) had not left
    /// chance (loss ln 8), as it must infer the order and then look each symbol up through it; with two it first learns
    /// the lookup (an induction head at a fixed offset) and then which of two offsets.
    /// </summary>
    public static readonly SymbolOrder[] TrainOrders = [SymbolOrder.Identity, SymbolOrder.Reverse];

    /// <summary>The order family no pretraining or meta-training episode has (MetaICL's non-X → X).</summary>
    public const SymbolOrder HeldOutOrder = SymbolOrder.RotateLeft;

    public static char Char(int symbol) => (char)('a' + symbol);

    public static string Text(IEnumerable<int> symbols) => new([.. symbols.Select(Char)]);

    /// <summary>True for the maps kept out of pretraining and meta-training (about a tenth, by an FNV-1a hash of the map).</summary>
    public static bool IsTestMap(int[] map)
    {
        uint h = 2166136261;
        foreach (int s in map) { h ^= (uint)s; h *= 16777619; }
        h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
        return h % 10 == 0;
    }

    /// <summary>A random rule of the split: training maps with the training orders, unseen maps with them, or the held-out family.</summary>
    public static SymbolRule RandomRule(Rng rng, WorldSplit split, IReadOnlyList<SymbolOrder>? orders = null)
    {
        orders ??= TrainOrders;
        while (true)
        {
            var map = Enumerable.Range(0, Alphabet).ToArray();
            rng.Shuffle<int>(map);
            var order = split == WorldSplit.HeldOutFamily ? HeldOutOrder : orders[rng.NextInt(orders.Count)];
            if (IsTestMap(map) == (split == WorldSplit.UnseenRules)) return new SymbolRule(map, order);
        }
    }

    public static int[] RandomInput(Rng rng) => [.. Enumerable.Range(0, Length).Select(_ => rng.NextInt(Alphabet))];

    /// <summary>"abcde> fghij|" as token ids (what the world's tokenizer.json gives for the same text).</summary>
    public static void AppendDemonstration(List<int> ids, int[] x, int[] y, bool delimiter = true)
    {
        ids.AddRange(x);
        ids.Add(SeparatorId);
        ids.Add(SpaceId);
        ids.AddRange(y);
        if (delimiter) ids.Add(DelimiterId);
    }

    /// <summary>tokenizer.json for the world: one token a character (WordLevel over a Split of each character).</summary>
    public static string TokenizerJson { get; } = $$"""
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": [],
          "normalizer": null,
          "pre_tokenizer": { "type": "Split", "pattern": { "Regex": "." }, "behavior": "Isolated", "invert": false },
          "post_processor": null,
          "decoder": { "type": "Fuse" },
          "model": {
            "type": "WordLevel",
            "vocab": { {{string.Join(", ", Enumerable.Range(0, Alphabet).Select(i => $"\"{Char(i)}\": {i}"))}}, ">": {{SeparatorId}}, " ": {{SpaceId}}, "|": {{DelimiterId}}, "[UNK]": {{VocabSize - 1}} },
            "unk_token": "[UNK]"
          }
        }

        """;
}

/// <summary>Which rules a draw comes from.</summary>
public enum WorldSplit { Train, UnseenRules, HeldOutFamily }
