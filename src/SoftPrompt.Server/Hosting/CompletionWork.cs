using System.Threading.Channels;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Server.Hosting;

/// <summary>A completion made ready on the scheduler's thread: the ids the model runs, their row plan, the decoding settings.</summary>
internal sealed record PreparedCompletion(int[] Ids, RowPlan? Plan, IReadOnlyDictionary<string, Tensor> ParameterDeltas, GenerationOptions Options,
    int PromptTokens, int CachedTokens);

/// <summary>
/// One completion request as the scheduler sees it: how to prepare it (run on the scheduler's thread, which holds the
/// model), when to give up on it (the client left or its deadline passed), and where its tokens go. The request's
/// handler awaits <see cref="Started"/> (its prompt was read and its first pass ran — or the error that stopped it) and
/// then reads <see cref="Tokens"/> until the channel completes: normally at the end, with an
/// <see cref="OperationCanceledException"/> when cancelled.
/// </summary>
internal sealed class CompletionWork(Func<LoadedModel, PreparedCompletion> prepare, CancellationToken cancelled)
{
    readonly Channel<int> _tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<PreparedCompletion> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int _emitted;

    public Func<LoadedModel, PreparedCompletion> Prepare { get; } = prepare;
    public CancellationToken Cancelled { get; } = cancelled;
    public Task<PreparedCompletion> Started => _started.Task;
    public ChannelReader<int> Tokens => _tokens.Reader;

    /// <summary>Its sequence once started.</summary>
    public DecodeSequence? Sequence { get; private set; }

    /// <summary>When it was queued (for the queue-wait histogram).</summary>
    public long QueuedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    public void Begin(PreparedCompletion prepared, DecodeSequence sequence)
    {
        Sequence = sequence;
        _started.TrySetResult(prepared);
    }

    /// <summary>Sends the tokens chosen since the last call; completes the channel once the sequence is done. Returns how many it sent.</summary>
    public int Emit()
    {
        var generated = Sequence!.Generated;
        int sent = 0;
        for (; _emitted < generated.Count; _emitted++, sent++) _tokens.Writer.TryWrite(generated[_emitted]);
        if (Sequence.IsDone) _tokens.Writer.TryComplete();
        return sent;
    }

    /// <summary>Ends it with an error: before its start, the error its handler gets from Started; after, from Tokens.</summary>
    public void Fail(Exception error)
    {
        if (!_started.TrySetException(error)) _tokens.Writer.TryComplete(error);
        else _tokens.Writer.TryComplete();
    }
}
