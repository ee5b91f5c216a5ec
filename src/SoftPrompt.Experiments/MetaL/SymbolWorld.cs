using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The synthetic multi-task world MetaL-Prompt is reproduced in (no pretrained English model can be had here): inputs
/// are Length symbols of an Alphabet-letter alphabet (a…h), a task is a <see cref="SymbolRule"/> — one of 8! maps onto
/// the images A…H, composed with an order operation (the identity in training: 40,320 tasks). A demonstration is
/// "abcde> aFbGcHdIeJ|": the input's symbols in the order's sequence, each followed by its image (see
/// <see cref="SymbolRule.Apply"/>). Splits by rule: maps whose hash falls in the test tenth are unseen in pretraining and
/// meta-training (meta-test tasks of the training family), and maps that merge symbols (onto 4 images) are held out as a
/// whole family (MetaICL's non-X → X).
/// </summary>
public static class SymbolWorld
{
    /// <summary>An input is Length symbols; an output is Length tokens, each a (symbol, image) pair.</summary>
    public const int Alphabet = 8, Length = 5, OutputLength = Length;
    public const char Separator = '>', Space = ' ', Delimiter = '|';

    /// <summary>
    /// Token ids: the symbols a…h are 0…7; a pair "sM" (symbol s, image M of A…H) is one token, PairBase + 8·s + m (8…71);
    /// then '>', ' ', '|' and [UNK]. One token a pair puts a symbol and its image at one position, so reading the map is
    /// one lookup — at output slot i, find the earlier pairs of x_i's symbol and read their image — which needs no
    /// induction head (a symbol here, its image at the next position). Worlds that wrote images as tokens after their
    /// symbols ("aFbG…", or images alone) kept a 4-layer target on the chance plateau for 2,000–14,000 steps (docs/metal.md).
    /// </summary>
    public const int PairBase = Alphabet, SeparatorId = PairBase + Alphabet * Alphabet, SpaceId = SeparatorId + 1, DelimiterId = SeparatorId + 2, VocabSize = SeparatorId + 4;

    public static int Pair(int symbol, int image) => PairBase + Alphabet * symbol + image;

    /// <summary>
    /// The order of pretraining and meta-training: the identity. With identity and reverse, the target read the map at
    /// 4,000 steps but still guessed the order (28.5 % exact match with 8 demonstrations, against 49 % at 2,000 steps
    /// with the identity alone; docs/metal.md); --orders trains with more.
    /// </summary>
    public static readonly SymbolOrder[] TrainOrders = [SymbolOrder.Identity];

    /// <summary>
    /// Images of the held-out family (MetaICL's non-X → X): its maps are not permutations but merge the 8 symbols onto
    /// HeldOutImages of the images, each used; no pretraining or meta-training episode has such a map.
    /// </summary>
    public const int HeldOutImages = 4;

    /// <summary>A token's text: a…h for a symbol, "aF" for a pair.</summary>
    public static string Text(int id) => id < PairBase ? ((char)('a' + id)).ToString()
        : $"{(char)('a' + (id - PairBase) / Alphabet)}{(char)('A' + (id - PairBase) % Alphabet)}";

    public static string Text(IEnumerable<int> ids) => string.Concat(ids.Select(Text));

    /// <summary>True for the maps kept out of pretraining and meta-training (about a tenth, by an FNV-1a hash of the map).</summary>
    public static bool IsTestMap(int[] map)
    {
        uint h = 2166136261;
        foreach (int s in map) { h ^= (uint)s; h *= 16777619; }
        h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
        return h % 10 == 0;
    }

    /// <summary>A random rule of the split: training permutations with the training orders, unseen permutations with them, or a merging map of the held-out family.</summary>
    public static SymbolRule RandomRule(Rng rng, WorldSplit split, IReadOnlyList<SymbolOrder>? orders = null)
    {
        orders ??= TrainOrders;
        var order = orders[rng.NextInt(orders.Count)];
        if (split == WorldSplit.HeldOutFamily) return new SymbolRule(MergingMap(rng), order);
        while (true)
        {
            var map = Enumerable.Range(0, Alphabet).ToArray();
            rng.Shuffle<int>(map);
            if (IsTestMap(map) == (split == WorldSplit.UnseenRules)) return new SymbolRule(map, order);
        }
    }

    /// <summary>A map of the held-out family: the symbols onto a random HeldOutImages of the images, every one of them used.</summary>
    static int[] MergingMap(Rng rng)
    {
        var images = Enumerable.Range(0, Alphabet).ToArray();
        rng.Shuffle<int>(images);
        while (true)
        {
            var map = Enumerable.Range(0, Alphabet).Select(_ => images[rng.NextInt(HeldOutImages)]).ToArray();
            if (map.Distinct().Count() == HeldOutImages) return map;
        }
    }

    /// <summary>True for a map of the held-out family (not a permutation).</summary>
    public static bool IsHeldOutFamily(int[] map) => map.Distinct().Count() < map.Length;

    public static int[] RandomInput(Rng rng) => [.. Enumerable.Range(0, Length).Select(_ => rng.NextInt(Alphabet))];

    /// <summary>"abcde> aFbGcHdIeJ|" as token ids (what the world's tokenizer.json gives for the same text).</summary>
    public static void AppendDemonstration(List<int> ids, int[] x, int[] y, bool delimiter = true)
    {
        ids.AddRange(x);
        ids.Add(SeparatorId);
        ids.Add(SpaceId);
        ids.AddRange(y);
        if (delimiter) ids.Add(DelimiterId);
    }

    /// <summary>tokenizer.json for the world: a token a symbol, a pair or a mark (WordLevel over a Split into "sM" pairs and single characters).</summary>
    public static string TokenizerJson { get; } = $$"""
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": [],
          "normalizer": null,
          "pre_tokenizer": { "type": "Split", "pattern": { "Regex": "[a-h][A-H]|." }, "behavior": "Isolated", "invert": false },
          "post_processor": null,
          "decoder": { "type": "Fuse" },
          "model": {
            "type": "WordLevel",
            "vocab": { {{string.Join(", ", Enumerable.Range(0, SeparatorId).Select(i => $"\"{Text(i)}\": {i}"))}}, ">": {{SeparatorId}}, " ": {{SpaceId}}, "|": {{DelimiterId}}, "[UNK]": {{VocabSize - 1}} },
            "unk_token": "[UNK]"
          }
        }

        """;
}

/// <summary>Which rules a draw comes from.</summary>
public enum WorldSplit { Train, UnseenRules, HeldOutFamily }
