using System.Text.Json.Serialization;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The authors' pretraining hyperparameters (minGPT's trainer): AdamW lr 5e-4, betas (0.9, 0.95),
/// weight decay 0.1 on Linear weights only, gradient-norm clip 1.0, batch 64, constant learning rate.
/// <see cref="Seed"/> seeds the model's initialisation and dropout; <see cref="DataSeed"/> the example stream.
/// </summary>
public sealed record PretrainOptions(
    [property: JsonPropertyName("lr")] double Lr = 5e-4,
    [property: JsonPropertyName("beta1")] double Beta1 = 0.9,
    [property: JsonPropertyName("beta2")] double Beta2 = 0.95,
    [property: JsonPropertyName("weight_decay")] double WeightDecay = 0.1,
    [property: JsonPropertyName("max_grad_norm")] float MaxGradNorm = 1.0f,
    [property: JsonPropertyName("batch_size")] int BatchSize = 64,
    [property: JsonPropertyName("seed")] ulong Seed = 1234,
    [property: JsonPropertyName("data_seed")] ulong DataSeed = 4321);
