using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The synthetic multi-task world MetaL-Prompt is reproduced in (no pretrained English model can be had here): inputs
/// are Length symbols of an Alphabet-letter alphabet (a…h), a task is a <see cref="SymbolRule"/> — one of 8! maps onto
/// the images A…H, composed with an order operation (the identity in training: 40,320 tasks). A demonstration is
/// "abcde> aFbGcHdIeJ|": the input's symbols in the order's sequence, each followed by its image (see
/// <see cref="SymbolRule.Apply"/>). Splits by rule: maps whose hash falls in the test tenth are unseen in pretraining and
/// meta-training (meta-test tasks); and the family of maps that send a to A is held out of meta-training only — the
/// target pretrains on it, as MetaICL's LM has read every task family, but the PGM never meets it (MetaICL's non-X → X).
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
    /// The held-out family (MetaICL's non-X → X): the maps that send a to A (7! of the 8!). The target's pretraining has
    /// them (<see cref="WorldSplit.Train"/>), the PGM's meta-training does not (<see cref="WorldSplit.MetaTrain"/>), and its
    /// meta-test tasks are unseen maps of it. (An earlier world held out maps that merge the symbols onto 4 images: the
    /// target, which never saw one, could not learn them in context either — 0.6 % with 8 demonstrations — so they
    /// could not tell whether a PGM generalises.)
    /// </summary>
    public static bool IsHeldOutFamily(int[] map) => map[0] == 0;

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

    /// <summary>
    /// A random rule of the split: training maps (the target's pretraining: every map outside the test tenth), training
    /// maps outside the held-out family (the PGM's meta-training), unseen maps outside it, or unseen maps of it.
    /// </summary>
    public static SymbolRule RandomRule(Rng rng, WorldSplit split, IReadOnlyList<SymbolOrder>? orders = null)
    {
        orders ??= TrainOrders;
        var order = orders[rng.NextInt(orders.Count)];
        bool test = split is WorldSplit.UnseenRules or WorldSplit.HeldOutFamily;
        while (true)
        {
            var map = Enumerable.Range(0, Alphabet).ToArray();
            rng.Shuffle<int>(map);
            if (IsTestMap(map) != test) continue;
            if (split != WorldSplit.Train && IsHeldOutFamily(map) != (split == WorldSplit.HeldOutFamily)) continue;
            return new SymbolRule(map, order);
        }
    }

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

/// <summary>
/// Which rules a draw comes from: Train (the target's pretraining), MetaTrain (the PGM's: Train less the held-out family),
/// UnseenRules (meta-test maps outside the family), HeldOutFamily (meta-test maps of it).
/// </summary>
public enum WorldSplit { Train, UnseenRules, HeldOutFamily, MetaTrain }
