using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>adapter_config.json with PEFT's field names and values for each method.</summary>
public static class PeftConfigJson
{
    public static JsonObject For(TuningMethod method, ICausalLanguageModel model, string? baseModel)
    {
        var c = model.Config;
        var o = new JsonObject
        {
            ["peft_type"] = method.PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["revision"] = null,
            ["inference_mode"] = true,
            ["auto_mapping"] = null,
        };
        void PromptLearning(int n, int tokenDim, int heads)
        {
            o["num_virtual_tokens"] = n;
            o["token_dim"] = tokenDim;
            o["num_transformer_submodules"] = 1;
            o["num_attention_heads"] = heads;
            o["num_layers"] = c.Layers;
            o["modules_to_save"] = null;
        }
        switch (method)
        {
            case PromptTuningMethod p:
                PromptLearning(p.Config.NumVirtualTokens, c.HiddenSize, c.Heads);
                o["prompt_tuning_init"] = p.Config.Init switch
                {
                    PromptTuningInit.Text => "TEXT",
                    PromptTuningInit.SampleVocab => "SAMPLE_VOCAB",
                    _ => "RANDOM",   // Labels init has no PEFT name: the tokens are saved, so RANDOM loads them unchanged
                };
                o["prompt_tuning_init_text"] = p.Config.Init == PromptTuningInit.Text ? p.Config.InitText : null;
                o["tokenizer_name_or_path"] = p.Config.Init == PromptTuningInit.Text ? baseModel : null;
                o["tokenizer_kwargs"] = null;
                break;
            case PTuningMethod p:
                PromptLearning(p.Config.NumVirtualTokens, c.HiddenSize, c.Heads);
                o["encoder_reparameterization_type"] = p.Config.EncoderType == PromptEncoderType.Lstm ? "LSTM" : "MLP";
                o["encoder_hidden_size"] = p.Config.EncoderHiddenSize > 0 ? p.Config.EncoderHiddenSize : c.HiddenSize;
                o["encoder_num_layers"] = p.Config.EncoderNumLayers;
                o["encoder_dropout"] = p.Config.EncoderDropout;
                break;
            case PrefixTuningMethod p:
                // Grouped-query attention: PEFT sizes the prefix by the key/value heads (token_dim = hd·Hkv, heads = Hkv).
                PromptLearning(p.Config.NumVirtualTokens, PrefixLayout.Width(model), c.KvHeads);
                o["encoder_hidden_size"] = p.Config.EncoderHiddenSize;
                o["prefix_projection"] = true;
                break;
            case DeepPromptMethod p:
                PromptLearning(p.Config.NumVirtualTokens, PrefixLayout.Width(model), c.KvHeads);
                o["encoder_hidden_size"] = c.HiddenSize;
                o["prefix_projection"] = false;
                break;
            case LoraMethod l:
                o["r"] = l.Config.R;
                o["lora_alpha"] = l.Config.LoraAlpha;
                o["lora_dropout"] = l.Config.LoraDropout;
                o["target_modules"] = TargetModules(l.Adapters.Select(a => a.Layer.Name).ToHashSet(), model.LinearLayers.Select(x => x.Name).ToList());
                o["bias"] = "none";
                o["fan_in_fan_out"] = c.ModelType == "gpt2";   // GPT-2's Conv1D stores weights [in, out]
                o["use_rslora"] = l.Config.UseRslora;
                o["use_dora"] = false;
                o["init_lora_weights"] = true;
                o["modules_to_save"] = null;
                o["layers_to_transform"] = null;
                o["layers_pattern"] = null;
                o["rank_pattern"] = new JsonObject();
                o["alpha_pattern"] = new JsonObject();
                break;
            case Methods.AttentionInputPrefix.AttentionInputPrefixMethod a:
                // Petrov et al.'s prefix has no PEFT layout: SoftPrompt's own type, "prefix.{layer}" [P, D].
                PromptLearning(a.Length, c.HiddenSize, c.Heads);
                break;
            case FullFineTuningMethod f:
                // PEFT has no full fine-tuning layout: SoftPrompt's own type, the deltas keyed by module path.
                o["target_modules"] = new JsonArray([.. f.Deltas.Select(d => (JsonNode?)JsonValue.Create(d.Layer.Name))]);
                break;
            default:
                throw new ArgumentException($"{method.Kind} has no PEFT adapter layout.");
        }
        return o;
    }

    /// <summary>
    /// PEFT's target_modules for the adapted layers: the shortest module-name suffixes ("c_attn",
    /// "attn.c_proj") whose matches, by PEFT's rule (path == name or ends with "." + name), are exactly
    /// the adapted layers; or, when only some blocks are adapted, a regex of their full paths.
    /// </summary>
    internal static JsonNode TargetModules(HashSet<string> adapted, List<string> all)
    {
        bool Matches(string path, string name) => path == name || path.EndsWith("." + name, StringComparison.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string path in adapted)
        {
            var parts = path.Split('.');
            string? pick = null;
            for (int k = 1; k <= parts.Length && pick is null; k++)
            {
                string suffix = string.Join('.', parts[^k..]);
                if (all.Where(p => Matches(p, suffix)).All(adapted.Contains)) pick = suffix;
            }
            names.Add(pick!);
        }
        if (all.Where(p => names.Any(n => Matches(p, n))).ToHashSet().SetEquals(adapted))
            return new JsonArray([.. names.Select(n => (JsonNode?)JsonValue.Create(n))]);
        return JsonValue.Create(string.Join('|', adapted.Order(StringComparer.Ordinal).Select(System.Text.RegularExpressions.Regex.Escape)))!;
    }
}
