using System.Buffers;
using Grpc.Core;

namespace Modal.Server.InProcess;

/// <summary>A message to and from its bytes through a gRPC marshaller, as the transport would (generated marshallers are contextual only).</summary>
internal static class MessageBytes
{
    public static byte[] Serialize<T>(Marshaller<T> marshaller, T message)
    {
        var context = new Serialization();
        marshaller.ContextualSerializer(message, context);
        return context.Payload;
    }

    public static T Deserialize<T>(Marshaller<T> marshaller, byte[] payload) => marshaller.ContextualDeserializer(new Deserialization(payload));

    private sealed class Serialization : SerializationContext
    {
        private byte[]? _payload;
        private ArrayBufferWriter<byte>? _writer;

        public byte[] Payload => _payload ?? _writer?.WrittenSpan.ToArray()
            ?? throw new InvalidOperationException("The marshaller completed no payload.");

        public override void Complete(byte[] payload) => _payload = payload;

        public override void SetPayloadLength(int payloadLength) => _writer ??= new ArrayBufferWriter<byte>(Math.Max(payloadLength, 1));

        public override IBufferWriter<byte> GetBufferWriter() => _writer ??= new ArrayBufferWriter<byte>();

        public override void Complete()
        {
        }
    }

    private sealed class Deserialization(byte[] payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }
}
