using System.Collections.Concurrent;
using Grpc.Core;
using Modal.Api;

namespace Modal.Runtime.Tests.Client;

/// <summary>The worker's input slots when its input stream is reopened: free slots are granted again, none twice.</summary>
public sealed class InputCreditsTests
{
    [Fact]
    public async Task A_reopened_input_stream_is_granted_the_slots_free_then_and_later_frees_go_to_it()
    {
        var credits = new InputCredits(4);
        var first = new RecordingStream();
        var granting = credits.GrantOnAsync(first, CancellationToken.None);
        Assert.Equal(4, await first.NextAsync());

        credits.Take();
        credits.Take();
        credits.Take();
        // The stream breaks while three assignments run; a new one is opened.
        var second = new RecordingStream();
        var regranting = credits.GrantOnAsync(second, CancellationToken.None);
        await granting;

        Assert.Equal(1, await second.NextAsync());
        credits.Release();
        Assert.Equal(1, await second.NextAsync());
        Assert.Equal(2, credits.Busy);
        credits.Close();
        await regranting;
        Assert.Equal([4], first.Written);
        Assert.Equal([1, 1], second.Written);
    }

    [Fact]
    public async Task A_stream_opened_with_every_slot_busy_is_granted_nothing_until_one_frees()
    {
        var credits = new InputCredits(1);
        credits.Take();
        var stream = new RecordingStream();
        var granting = credits.GrantOnAsync(stream, CancellationToken.None);

        credits.Release();

        Assert.Equal(1, await stream.NextAsync());
        credits.Close();
        await granting;
        Assert.Equal([1], stream.Written);
    }

    private sealed class RecordingStream : IClientStreamWriter<InputCredit>
    {
        private readonly BlockingCollection<int> _writes = [];
        private readonly ConcurrentQueue<int> _written = new();

        public WriteOptions? WriteOptions { get; set; }

        public int[] Written => _written.ToArray();

        public Task WriteAsync(InputCredit message)
        {
            _written.Enqueue(message.FreeSlots);
            _writes.Add(message.FreeSlots);
            return Task.CompletedTask;
        }

        public Task CompleteAsync() => Task.CompletedTask;

        public Task<int> NextAsync() => Task.Run(() =>
        {
            Assert.True(_writes.TryTake(out var value, TimeSpan.FromSeconds(10)), "No credit was granted within 10 s.");
            return value;
        });
    }
}
