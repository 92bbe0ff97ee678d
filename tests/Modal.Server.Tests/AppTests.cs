using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class AppTests
{
    [Fact]
    public async Task Stopping_an_app_terminates_its_pending_inputs_and_refuses_new_calls()
    {
        await using var server = await TestServer.StartAsync();
        var (appId, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1) } });

        await server.Client.AppStopAsync(new AppStopRequest { AppId = appId });
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);
        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1) },
        }).ResponseAsync);
        var apps = await server.Client.AppListAsync(new AppListRequest());

        Assert.Equal(InputStatus.Terminated, outputs.Outputs.Single().Result.Status);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal("stopped", apps.Apps.Single(a => a.AppId == appId).State);
    }

    [Fact]
    public async Task An_ephemeral_app_without_heartbeats_is_stopped_with_its_containers()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { AppHeartbeatTimeout = TimeSpan.FromMilliseconds(500) });
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        var (appId, _) = await server.CreateAppAsync(spec, launch: true);
        var launched = await server.Launcher.NextAsync();

        await server.Launcher.Handles[launched.ContainerId].Exited.WaitAsync(TimeSpan.FromSeconds(8));
        var apps = await server.Client.AppListAsync(new AppListRequest());

        Assert.Equal("stopped", apps.Apps.Single(a => a.AppId == appId).State);
    }

    [Fact]
    public async Task Deployed_apps_keep_running_without_heartbeats_and_each_redeploy_is_a_new_version()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { AppHeartbeatTimeout = TimeSpan.FromMilliseconds(200) });
        var request = new AppCreateRequest { Name = "deployed", Kind = AppKind.Deployed, Functions = { Payloads.Spec() } };
        var first = await server.Client.AppCreateAsync(request);

        await Task.Delay(600);
        var second = await server.Client.AppCreateAsync(request);
        var apps = await server.Client.AppListAsync(new AppListRequest());

        Assert.Equal(first.AppId, second.AppId);
        Assert.Equal((1, 2), (first.Version, second.Version));
        Assert.NotEqual(first.FunctionIds["Square"], second.FunctionIds["Square"]);
        Assert.Equal(("deployed", 2), (apps.Apps.Single().State, apps.Apps.Single().Version));
    }

    [Fact]
    public async Task A_retried_deploy_with_the_same_idempotency_key_returns_the_first_version_and_makes_no_other()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "retried", Kind = AppKind.Deployed, Functions = { Payloads.Spec() }, IdempotencyKey = "k-1" };
        var first = await server.Client.AppCreateAsync(request);
        var retried = await server.Client.AppCreateAsync(request);
        var otherName = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(
            new AppCreateRequest { Name = "other", Kind = AppKind.Deployed, Functions = { Payloads.Spec() }, IdempotencyKey = "k-1" }).ResponseAsync);
        request.IdempotencyKey = "k-2";
        var next = await server.Client.AppCreateAsync(request);

        Assert.Equal((first.AppId, 1, first.FunctionIds["Square"]), (retried.AppId, retried.Version, retried.FunctionIds["Square"]));
        Assert.Equal(2, next.Version);
        Assert.Equal(2, (await server.Client.AppListAsync(new AppListRequest())).Apps.Single().Version);
        Assert.Equal(StatusCode.InvalidArgument, otherName.StatusCode);
        Assert.Contains("idempotency_key 'k-1' was used for app 'retried', not 'other'", otherName.Status.Detail);
    }

    [Fact]
    public async Task A_call_by_name_right_after_a_redeploy_goes_to_the_new_version()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "fresh", Kind = AppKind.Deployed, Functions = { Payloads.Spec() } };
        string old = (await server.Client.AppCreateAsync(request)).FunctionIds["Square"];
        FunctionMapRequest ByName(int x) => new()
        {
            FunctionId = old, Invocation = FunctionCallInvocation.Async, NewestVersion = true, PipelinedInputs = { Payloads.Input(0, x) },
        };
        // The first call reads (and caches) the function's row while version 1 is the newest.
        Assert.Equal(old, (await server.Client.FunctionMapAsync(ByName(2))).FunctionId);

        var second = await server.Client.AppCreateAsync(request);
        var following = await server.Client.FunctionMapAsync(ByName(3));

        Assert.Equal(second.FunctionIds["Square"], following.FunctionId);
    }

    [Fact]
    public async Task Function_get_resolves_the_newest_version_or_a_pinned_one_and_an_unknown_version_names_those_that_exist()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "versioned", Kind = AppKind.Deployed, Functions = { Payloads.Spec() } };
        var first = await server.Client.AppCreateAsync(request);
        var second = await server.Client.AppCreateAsync(request);

        var newest = await server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "versioned", FunctionName = "Square" });
        var pinned = await server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "versioned", FunctionName = "Square", Version = 1 });
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "versioned", FunctionName = "Square", Version = 7 }).ResponseAsync);
        var negative = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "versioned", FunctionName = "Square", Version = -1 }).ResponseAsync);

        Assert.Equal((second.FunctionIds["Square"], 2), (newest.FunctionId, newest.Version));
        Assert.Equal((first.FunctionIds["Square"], 1), (pinned.FunctionId, pinned.Version));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("App 'versioned' has no version 7 of function 'Square'. Its versions: 1, 2. Pin one of them, or give no version for the newest.",
            unknown.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
    }

    [Fact]
    public async Task A_call_by_name_goes_to_the_newest_version_and_a_pinned_or_app_created_id_stays_on_its_own()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "moving", Kind = AppKind.Deployed, Functions = { Payloads.Spec() } };
        var first = await server.Client.AppCreateAsync(request);
        string old = first.FunctionIds["Square"];
        var second = await server.Client.AppCreateAsync(request);

        var following = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = old, Invocation = FunctionCallInvocation.Async, NewestVersion = true, PipelinedInputs = { Payloads.Input(0, 2) },
        });
        var staying = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = old, Invocation = FunctionCallInvocation.Async, PipelinedInputs = { Payloads.Input(0, 3) },
        });

        Assert.Equal(second.FunctionIds["Square"], following.FunctionId);
        Assert.Equal(old, staying.FunctionId);
        var followingCall = await server.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = following.FunctionCallId });
        Assert.Equal(second.FunctionIds["Square"], followingCall.FunctionId);
        Assert.Equal(1, (await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = old })).Backlog);
    }

    [Fact]
    public async Task Worker_log_lines_reach_log_subscribers()
    {
        await using var server = await TestServer.StartAsync();
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        var (appId, _) = await server.CreateAppAsync(spec, launch: true);
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var logs = server.Client.AppGetLogs(new AppGetLogsRequest { AppId = appId }, cancellationToken: cts.Token);
        var first = logs.ResponseStream.MoveNext(cts.Token);

        // The subscription is registered once the call reached the server; send until a line arrives.
        while (!first.IsCompleted)
        {
            await worker.Client.ContainerLogsAsync(new ContainerLogsRequest { Lines = { new LogLine { Text = "hello from Square" } } },
                new Metadata { { "x-modal-container-id", launched.ContainerId }, { "x-modal-container-token", launched.ContainerToken } },
                cancellationToken: cts.Token);
            await Task.WhenAny(first, Task.Delay(100, cts.Token));
        }

        Assert.True(await first);
        Assert.Equal("hello from Square", logs.ResponseStream.Current.Text);
        Assert.Equal("Square", logs.ResponseStream.Current.FunctionName);
        Assert.Equal(launched.ContainerId, logs.ResponseStream.Current.ContainerId);
    }

    [Fact]
    public async Task The_call_graph_links_child_calls_to_their_parent_input()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "graph", Functions = { Payloads.Spec("Parent"), Payloads.Spec("Child") } };
        var app = await server.Client.AppCreateAsync(request);
        var parent = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = app.FunctionIds["Parent"], PipelinedInputs = { Payloads.Input(0, 1) },
        });
        var child = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = app.FunctionIds["Child"], ParentInputId = parent.InputIds[0], PipelinedInputs = { Payloads.Input(0, 2), Payloads.Input(1, 3) },
        });

        var graph = await server.Client.FunctionGetCallGraphAsync(new FunctionGetCallGraphRequest { FunctionCallId = parent.FunctionCallId });

        Assert.Equal(3, graph.Inputs.Count);
        var root = graph.Inputs.Single(i => i.FunctionName == "Parent");
        Assert.Equal("", root.ParentInputId);
        Assert.All(graph.Inputs.Where(i => i.FunctionName == "Child"), i =>
        {
            Assert.Equal(root.InputId, i.ParentInputId);
            Assert.Equal(child.FunctionCallId, i.FunctionCallId);
            Assert.Equal(InputStatus.Pending, i.Status);
        });
    }

    [Fact]
    public async Task The_worker_process_own_output_lines_reach_log_subscribers()
    {
        await using var server = await TestServer.StartAsync();
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        var created = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "chatty",
            Functions = { spec },
            Launch = new WorkerLaunchSpec
            {
                Executable = "/bin/sh",
                Arguments = { "-c", "while true; do echo out-$MODAL_FUNCTION_NAME; echo err >&2; sleep 0.1; done" },
            },
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var logs = server.Client.AppGetLogs(new AppGetLogsRequest { AppId = created.AppId }, cancellationToken: cts.Token);

        var lines = new List<LogLine>();
        while (!(lines.Any(l => !l.Stderr && l.Text == "out-Square") && lines.Any(l => l.Stderr && l.Text == "err")))
        {
            Assert.True(await logs.ResponseStream.MoveNext(cts.Token));
            lines.Add(logs.ResponseStream.Current);
        }

        Assert.All(lines, l => Assert.Equal("Square", l.FunctionName));
    }

    [Fact]
    public async Task A_full_backlog_answers_resource_exhausted()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { MaxBacklogPerFunction = 2 });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 1) } });

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1) },
        }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }
}
