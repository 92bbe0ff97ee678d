using System.Diagnostics;

namespace Modal.Integration.Tests;

/// <summary>
/// What the container tests need from <c>tests/run</c> (tests/containers.sh): a loopback registry with a .NET base image,
/// and podman able to run containers here. When any of it is missing the tests fail and say why; they never pass
/// without having run a container.
/// </summary>
public static class TestContainers
{
    /// <summary>The loopback registry (<c>localhost:PORT</c>).</summary>
    public static string Registry => Require("MODAL_TEST_REGISTRY");

    /// <summary>The .NET runtime base image in <see cref="Registry"/>.</summary>
    public static string BaseImage => Require("MODAL_TEST_BASE_IMAGE");

    private static string Require(string variable)
    {
        if (Environment.GetEnvironmentVariable("MODAL_TEST_CONTAINERS_UNAVAILABLE") is { Length: > 0 } reason)
        {
            throw new InvalidOperationException(
                $"Containers are unavailable on this machine, so this container test cannot run: {reason}. It needs podman with runc, " +
                "buildah, skopeo, umoci and docker-registry (tests/containers.sh installs them) and a kernel that runs containers.");
        }
        return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set: run the container tests with tests/run, which installs podman and buildah, starts a loopback registry " +
                "and pushes a .NET base image to it (tests/containers.sh).");
    }

    /// <summary>Runs a container tool (podman, skopeo, umoci) to its end within two minutes; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{tool} {string.Join(' ', arguments)}' did not finish within 2 minutes.");
        }
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>The ids of the running containers that carry every one of <paramref name="labels"/> (<c>KEY=VALUE</c>).</summary>
    public static async Task<IReadOnlyList<string>> RunningAsync(params string[] labels)
    {
        var arguments = new List<string> { "ps", "--quiet", "--no-trunc" };
        foreach (string label in labels)
        {
            arguments.AddRange(["--filter", "label=" + label]);
        }
        var (exitCode, output, errors) = await RunAsync("podman", [.. arguments]);
        return exitCode == 0
            ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : throw new InvalidOperationException($"podman ps failed ({exitCode}): {errors}");
    }
}
