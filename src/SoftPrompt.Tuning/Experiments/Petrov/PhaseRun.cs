using System.Security.Cryptography;
using System.Text.Json;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// An adaptation phase's run directory and what makes a rerun the same run: phase.json records the setup,
/// the phase, its steps, learning rate and initialisation seed, and the pretrained model's fingerprint.
/// A rerun with the same identity continues from the trainer's checkpoint there (the authors' long phases
/// take many hours on this machine, more than one session); any other run empties the directory first.
/// </summary>
public static class PhaseRun
{
    const string IdentityFile = "phase.json";

    /// <summary>The pretrained model's fingerprint: SHA-256 of its model.safetensors (first 16 hex digits).</summary>
    public static string Fingerprint(string modelDirectory)
    {
        using var stream = File.OpenRead(Path.Combine(modelDirectory, "model.safetensors"));
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }

    public static string Identity(int setup, PetrovPhase phase, ulong initSeed, int steps, double learningRate, string modelFingerprint) =>
        JsonSerializer.Serialize(new
        {
            setup, phase = phase.Name, kind = phase.Kind.ToString(), task = PetrovTasks.Name(phase.Task), steps, learning_rate = learningRate,
            prefix_length = phase.PrefixLength, lora_rank = phase.LoraRank, init_seed = initSeed, model = modelFingerprint,
        }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Makes <paramref name="directory"/> ready for the run <paramref name="identity"/> names; returns the step its checkpoint holds (0: a fresh start).</summary>
    public static long Prepare(string directory, string identity)
    {
        string path = Path.Combine(directory, IdentityFile), checkpoint = Path.Combine(directory, "checkpoint");
        bool same = File.Exists(path) && File.ReadAllText(path) == identity;
        if (!same && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        if (!same) AtomicFile.WriteAllText(path, identity);
        return same && TrainingCheckpoint.Exists(checkpoint) ? TrainingCheckpoint.Step(checkpoint) : 0;
    }
}
