using Microsoft.Extensions.Logging;

namespace Modal.Hosting;

/// <summary>The log lines of <c>[Cls]</c> containers: a failed start, a failed exit.</summary>
internal static partial class ModalLog
{
    public static void ClsEnterFailed(string clsName, string reason) => ClsEnterFailedCore(s_worker, clsName, reason);

    public static void ClsExitFailed(string clsName, Exception exception)
        => ClsExitFailedCore(s_worker, clsName, exception.GetType().FullName ?? exception.GetType().Name, exception.Message);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "A container of {ClsName} failed to start: {Reason}")]
    private static partial void ClsEnterFailedCore(ILogger logger, string clsName, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "[Exit] of {ClsName} threw {ExceptionType}: {ExceptionMessage}")]
    private static partial void ClsExitFailedCore(ILogger logger, string clsName, string exceptionType, string exceptionMessage);
}
