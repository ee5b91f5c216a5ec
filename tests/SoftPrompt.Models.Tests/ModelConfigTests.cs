using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

public sealed class ModelConfigTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-cfg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    ModelConfig Load(string json)
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json);
        return ModelConfig.Load(path);
    }

    [Fact]
    public void Gpt2NamesMapToTheCommonFields()
    {
        var c = Load("""{"model_type":"gpt2","vocab_size":50257,"n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"n_inner":null,"layer_norm_epsilon":1e-5,"activation_function":"gelu_new"}""");
        Assert.Equal(ArchitectureFamily.Gpt2, c.Family);
        Assert.Equal((768, 12, 12, 12, 3072, 64), (c.HiddenSize, c.Layers, c.Heads, c.KvHeads, c.IntermediateSize, c.HeadDim));
        Assert.True(c.TieWordEmbeddings);
    }

    [Fact]
    public void LlamaFamilyReadsGroupedHeadsAndRopeScaling()
    {
        var c = Load("""{"model_type":"llama","vocab_size":128256,"hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":8192,"max_position_embeddings":131072,"rms_norm_eps":1e-5,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"tie_word_embeddings":true,"torch_dtype":"bfloat16"}""");
        Assert.Equal(ArchitectureFamily.Llama, c.Family);
        Assert.Equal((32, 8, 64), (c.Heads, c.KvHeads, c.HeadDim));
        Assert.Equal("llama3", c.RopeScaling!.Type);
        Assert.Equal(8192, c.RopeScaling.OriginalMaxPositionEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.True(Load("""{"model_type":"qwen2","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"intermediate_size":16,"max_position_embeddings":32}""").AttentionBias);
    }

    [Theory]
    [InlineData("""{"model_type":"bert"}""", "model_type 'bert'")]
    [InlineData("""{"vocab_size":3}""", "'model_type' is missing")]
    [InlineData("""{"model_type":"gpt2","vocab_size":"many","n_embd":8,"n_layer":1,"n_head":2,"n_positions":8}""", "'vocab_size' must be an integer")]
    [InlineData("""{"model_type":"gpt2","vocab_size":10,"n_embd":10,"n_layer":1,"n_head":3,"n_positions":8}""", "not divisible by 3")]
    [InlineData("""{"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":16,"max_position_embeddings":32}""", "num_key_value_heads = 3")]
    [InlineData("""{"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":32,"rope_scaling":{"rope_type":"yarn","factor":2}}""", "'yarn'")]
    [InlineData("""{"model_type": """, "not valid JSON")]
    public void BadConfigsNameTheFileAndField(string json, string expected)
    {
        var e = Assert.Throws<ModelConfigException>(() => Load(json));
        Assert.Contains(expected, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void InspectCountsParametersByDtypeAndSkipsGpt2MaskBuffers()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type":"gpt2","vocab_size":5,"n_embd":4,"n_layer":1,"n_head":2,"n_positions":8}""");
        SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"),
            [new("wte.weight", Tensor.Zeros(5, 4)), new("h.0.attn.bias", Tensor.Zeros(1, 1, 8, 8)), new("h.0.ln_1.weight", Tensor.Zeros(4))], dtype: SafetensorsDtype.BF16);
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}""");
        var info = CheckpointInfo.Inspect(_dir);
        Assert.Equal(24, info.ParameterCount);
        Assert.Equal(2, info.TensorCount);
        Assert.Equal(24, info.ParametersByDtype["BF16"]);
        Assert.Equal("BPE (tokenizer.json, pre-tokenizer ByteLevel)", info.Tokenizer);
    }
}
