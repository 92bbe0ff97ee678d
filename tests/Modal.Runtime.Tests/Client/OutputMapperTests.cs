using Grpc.Core;
using Api = Modal.Api;

namespace Modal.Runtime.Tests.Client;

public sealed class OutputMapperTests
{
    [Fact]
    public void Failure_becomes_RemoteFunctionException_with_type_message_stack_and_function()
    {
        var failure = OutputMapper.ToException(new Api.FunctionResult
        {
            Status = Api.InputStatus.Failure,
            ExceptionType = "System.ArgumentException",
            ExceptionMessage = "bad x",
            StackTrace = "   at Demo.F()",
        }, "F");

        var remote = Assert.IsType<RemoteFunctionException>(failure);
        Assert.Equal("System.ArgumentException", remote.RemoteType);
        Assert.Equal("bad x", remote.RemoteMessage);
        Assert.Equal("   at Demo.F()", remote.RemoteStackTrace);
        Assert.Equal("F", remote.FunctionName);
        Assert.Contains("System.ArgumentException", remote.Message);
    }

    [Fact]
    public void Failure_of_type_InvalidInputException_stays_InvalidInputException()
    {
        var failure = OutputMapper.ToException(new Api.FunctionResult
        {
            Status = Api.InputStatus.Failure,
            ExceptionType = "Modal.InvalidInputException",
            ExceptionMessage = "Function 'F' takes 1 argument(s) but was sent 2.",
        }, "F");

        Assert.Equal("Function 'F' takes 1 argument(s) but was sent 2.", Assert.IsType<InvalidInputException>(failure).Message);
    }

    [Theory]
    [InlineData((int)Api.InputStatus.Timeout, typeof(FunctionTimeoutException))]
    [InlineData((int)Api.InputStatus.Terminated, typeof(InputCancelledException))]
    [InlineData((int)Api.InputStatus.InitFailure, typeof(RemoteFunctionException))]
    public void Statuses_map_to_their_exceptions(int status, Type expected)
        => Assert.IsType(expected, OutputMapper.ToException(new Api.FunctionResult { Status = (Api.InputStatus)status }, "F"));

    [Fact]
    public void Success_is_no_failure()
        => Assert.Null(OutputMapper.ToException(new Api.FunctionResult { Status = Api.InputStatus.Success }, "F"));

    [Theory]
    [InlineData(StatusCode.NotFound, typeof(NotFoundException))]
    [InlineData(StatusCode.InvalidArgument, typeof(InvalidInputException))]
    [InlineData(StatusCode.Unauthenticated, typeof(AuthenticationException))]
    [InlineData(StatusCode.Unavailable, typeof(ConnectionException))]
    [InlineData(StatusCode.Internal, typeof(ModalException))]
    public void Rpc_statuses_map_to_their_exceptions(StatusCode code, Type expected)
    {
        var exception = OutputMapper.FromRpc(new RpcException(new Status(code, "detail")), "http://127.0.0.1:1");
        Assert.IsType(expected, exception);
        Assert.Contains("detail", exception.Message);
    }

    [Fact]
    public void Not_found_with_the_output_expired_trailer_is_OutputExpiredException()
    {
        var trailers = new Metadata { { "modal-error-kind", "output-expired" } };
        var exception = OutputMapper.FromRpc(new RpcException(new Status(StatusCode.NotFound, "expired"), trailers), "http://127.0.0.1:1");
        Assert.IsType<OutputExpiredException>(exception);
    }

    [Fact]
    public void Connection_failure_names_the_server_and_what_to_do()
    {
        var exception = OutputMapper.FromRpc(new RpcException(new Status(StatusCode.Unavailable, "refused")), "http://127.0.0.1:9");
        Assert.Contains("http://127.0.0.1:9", exception.Message);
        Assert.Contains("MODAL_SERVER_URL", exception.Message);
    }
}
