using System.Text.Json;
using System.Text.RegularExpressions;

namespace Modal.Cli.Tests;

/// <summary>`modal run` follows the project's app: its maps' progress and its containers, as plain lines or JSON events.</summary>
public sealed partial class CliTests
{
    private static string IntegrationProject => ModalTool.ProjectDirectory("tests/Modal.Integration.Functions", "Modal.Integration.Functions.csproj");

    [Fact]
    public async Task Run_shows_a_maps_done_count_rising_to_its_total_and_the_containers_running_it()
    {
        // The project maps SlowIdentity (40 ms an input, up to 2 containers of 4 inputs) over 300 inputs: a few seconds of work.
        var run = await ModalTool.RunAsync("run", IntegrationProject, "--no-build", "-c", ModalTool.Configuration, "--server", server.Url,
            "--progress-interval", "0.2", "--", "map", "300");

        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("mapped=300 sum=44850", run.Output);
        Assert.Matches(@"modal: following the ephemeral app '[^']+' \(ap-\S+\) on http://127\.0\.0\.1:\d+\.", run.Errors);
        var progress = MapLine().Matches(run.Errors).Select(match => (Call: match.Groups[1].Value, Done: int.Parse(match.Groups[2].Value),
            Total: int.Parse(match.Groups[3].Value), Line: match.Value)).ToList();
        Assert.True(progress.Count >= 2, "Too few progress lines:\n" + run.Errors);
        Assert.Single(progress.Select(line => line.Call).Distinct());
        Assert.True(progress.Zip(progress.Skip(1)).All(pair => pair.First.Done <= pair.Second.Done), "Done counts went down:\n" + run.Errors);
        Assert.True(progress.Select(line => line.Done).Distinct().Count() >= 2, "The done count never moved:\n" + run.Errors);
        Assert.Equal((300, 300), (progress[^1].Done, progress[^1].Total));
        Assert.Contains("finished in", progress[^1].Line);
        Assert.Contains(ContainersLine().Matches(run.Errors), match => int.Parse(match.Groups[1].Value) > 0);
    }

    [Fact]
    public async Task Run_with_json_writes_progress_events_and_the_projects_output_as_JSON_lines()
    {
        var run = await ModalTool.RunAsync("run", IntegrationProject, "--no-build", "-c", ModalTool.Configuration, "--server", server.Url,
            "--json", "--progress-interval", "0.2", "--", "map", "100");

        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        var events = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var app = Assert.Single(events, e => e.GetProperty("event").GetString() == "app");
        Assert.Equal("ephemeral", app.GetProperty("kind").GetString());
        string appId = app.GetProperty("appId").GetString()!;
        var calls = events.Where(e => e.GetProperty("event").GetString() == "call").ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, call => Assert.Equal(appId, call.GetProperty("appId").GetString()));
        Assert.Equal("SlowIdentity", calls[^1].GetProperty("function").GetString());
        Assert.Equal((100, 100, true), (calls[^1].GetProperty("done").GetInt32(), calls[^1].GetProperty("total").GetInt32(),
            calls[^1].GetProperty("finished").GetBoolean()));
        Assert.Contains(events, e => e.GetProperty("event").GetString() == "containers" && e.GetProperty("running").GetInt32() > 0);
        Assert.Contains(events, e => e.GetProperty("event").GetString() == "output" && e.GetProperty("stream").GetString() == "stdout" &&
            e.GetProperty("text").GetString() == "mapped=100 sum=4950");
        Assert.Equal(("exit", 0), (events[^1].GetProperty("event").GetString(), events[^1].GetProperty("exitCode").GetInt32()));
    }

    [Fact]
    public async Task Run_follows_an_app_on_the_embedded_control_plane_the_project_starts_itself()
    {
        var run = await ModalTool.RunAsync("run", IntegrationProject, "--no-build", "-c", ModalTool.Configuration, "--server", server.Url,
            "--progress-interval", "0.2", "--", "map", "60", "embedded");

        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("mapped=60 sum=1770", run.Output);
        var following = Assert.Single(Following().Matches(run.Errors));
        Assert.NotEqual(server.Url, following.Groups[1].Value);
        // That control plane goes with the project: the last count is the last poll's before it exited.
        var counts = MapLine().Matches(run.Errors).Select(match => (Done: int.Parse(match.Groups[2].Value), Total: int.Parse(match.Groups[3].Value))).ToList();
        Assert.True(counts.Count > 0 && counts.All(count => count.Total == 60) && counts.Max(count => count.Done) > 0, "Progress lines:\n" + run.Errors);
    }

    [Fact]
    public async Task Run_builds_a_fresh_project_then_runs_it_and_follows_its_map()
    {
        string root = Path.GetFullPath(Path.Combine(IntegrationProject, "..", ".."));
        var folder = Directory.CreateTempSubdirectory("modal-cli-run-build-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "Doubler.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="{root}/src/Runtime/Modal.Runtime.csproj" />
                    <ProjectReference Include="{root}/src/Abstractions/Modal.Abstractions.csproj" />
                    <ProjectReference Include="{root}/src/Generator/Modal.Generator.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "Program.cs"), """
                using Modal;

                await using var app = await ModalApp.RunAsync(args);
                long total = 0;
                await foreach (int doubled in Doubling.Doubler.Functions.Double.Map(Enumerable.Range(0, 40)))
                {
                    total += doubled;
                }
                Console.WriteLine($"doubled={total}");

                namespace Doubling
                {
                    public static partial class Doubler
                    {
                        [Function]
                        public static int Double(int x) => x * 2;
                    }
                }
                """);

            // A build of a new project takes a minute or more on a loaded machine.
            var run = await ModalTool.RunAsync(ModalTool.ToolAssembly, ["run", folder.FullName, "-c", ModalTool.Configuration, "--server", server.Url],
                limit: TimeSpan.FromMinutes(8));

            Assert.True(run.ExitCode == 0, run.Output + run.Errors);
            Assert.Contains("doubled=1560", run.Output);
            Assert.True(File.Exists(Path.Combine(folder.FullName, "bin", ModalTool.Configuration, "net10.0", "Doubler.dll")), "The project was not built.");
            Assert.Matches(@"modal: Double fc-\S+: 40/40 inputs done", run.Errors);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Run_refuses_a_bad_progress_interval_and_json_without_progress_with_exit_code_2()
    {
        var interval = await ModalTool.RunAsync("run", IntegrationProject, "--no-build", "--progress-interval", "0", "--server", server.Url);
        var both = await ModalTool.RunAsync("run", IntegrationProject, "--no-build", "--json", "--no-progress", "--server", server.Url);

        Assert.Equal(2, interval.ExitCode);
        Assert.Contains("--progress-interval is 0; give a number of seconds from 0.05 to 3600", interval.Errors);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--json and --no-progress do not go together", both.Errors);
    }

    [GeneratedRegex(@"modal: SlowIdentity (fc-\S+): (\d+)/(\d+)\+? inputs done[^\n]*")]
    private static partial Regex MapLine();

    [GeneratedRegex(@"modal: following the ephemeral app '[^']+' \(ap-\S+\) on (\S+)\.\n")]
    private static partial Regex Following();

    [GeneratedRegex(@"modal: SlowIdentity containers: (\d+) running, (\d+) starting")]
    private static partial Regex ContainersLine();
}
