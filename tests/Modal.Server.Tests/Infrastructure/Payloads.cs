using Google.Protobuf;
using Modal.Api;

namespace Modal.Server.Tests.Infrastructure;

/// <summary>MessagePack bytes written by hand: arrays of small positive integers.</summary>
internal static class Payloads
{
    public static Payload Ints(params int[] values)
    {
        var bytes = new List<byte> { (byte)(0x90 | values.Length) };
        foreach (int value in values)
        {
            if (value is < 0 or > 127)
            {
                throw new ArgumentOutOfRangeException(nameof(values), "Only positive fixints here.");
            }
            bytes.Add((byte)value);
        }
        return new Payload { Inline = ByteString.CopyFrom([.. bytes]) };
    }

    public static FunctionInputItem Input(int index, params int[] values) => new() { Index = index, Arguments = Ints(values) };

    public static FunctionResult Success(int value) => new() { Status = InputStatus.Success, Data = new Payload { Inline = ByteString.CopyFrom((byte)value) } };

    public static int Value(FunctionResult result) => result.Data.Inline[0];

    public static FunctionSpec Spec(string name = "Square", int parameters = 1, string? signature = null) => new()
    {
        Name = name,
        Kind = FunctionKind.Unary,
        ParameterCount = parameters,
        Signature = signature ?? $"{name}(int x) -> int",
        HasResult = true,
        TimeoutSeconds = 60,
        MaxInputs = 1,
        ScaledownWindowSeconds = 60,
    };
}
