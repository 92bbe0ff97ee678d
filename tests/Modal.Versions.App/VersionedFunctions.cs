[assembly: Modal.ModalApp("versions")]

namespace Modal.Versions;

/// <summary>A function whose answer says which build of this app runs it.</summary>
public static partial class VersionedFunctions
{
#if VERSIONS_BUILD_2
    private const string Build = "build 2";
#else
    private const string Build = "build 1";
#endif

    /// <summary>
    /// Which build runs this call. With <paramref name="waitForVersion"/> above 0 it first waits (up to 3 minutes) until
    /// that version of <paramref name="appName"/> is deployed: a call that is running while the app is redeployed.
    /// </summary>
    [Function]
    public static async Task<string> WhichBuild(string appName, int waitForVersion)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (waitForVersion > 0)
        {
            try
            {
                await Function.FromName(appName, nameof(WhichBuild), version: waitForVersion).HydrateAsync();
                break;
            }
            catch (NotFoundException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
        return Build;
    }
}
