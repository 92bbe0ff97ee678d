using HelloSample;
using Modal;

// One Main runs the app, deploys it and serves as its worker:
// - `dotnet run --project samples/Hello -- deploy` (or `modal deploy samples/Hello`, which sets MODAL_DEPLOY and makes
//   RunAsync below deploy) uploads this build output to the control plane named by MODAL_SERVER_URL as the next
//   version of app 'hello', for samples/WebApi to call, and exits. The deployed version's workers run that upload.
// - In a worker process (the launcher sets MODAL_WORKER=1), RunAsync serves inputs and never returns.
if (args is ["deploy"])
{
    await using var deployed = await ModalApp.DeployAsync();
    Console.WriteLine($"Deployed app '{deployed.Name}' version {deployed.Version}.");
    return;
}

// Starts the app. By default (no MODAL_SERVER_URL) a control plane starts in this process on 127.0.0.1 and runs
// the functions in worker processes: this same executable, started in worker mode. Set MODAL_SERVER_URL to use a
// standalone server instead, or pass new ModalAppOptions { Mode = ModalMode.InProcess } to run everything here.
await using var app = await ModalApp.RunAsync(args);
Console.WriteLine($"App '{app.Name}' is running ({app.Mode}).");

// 1. Call a function remotely and wait for its result.
int square = await Hello.Functions.Square.RemoteAsync(7);
Console.WriteLine($"Square.RemoteAsync(7)             = {square}");

// 2. Start a call without waiting, then collect its result by the call's id.
FunctionCall<int> call = await Hello.Functions.Square.SpawnAsync(12);
Console.WriteLine($"Square.SpawnAsync(12)             -> call {call.ObjectId}");
Console.WriteLine($"call.GetAsync()                   = {await call.GetAsync()}");

// 3. Map over many inputs: they run in parallel, and results come back in input order.
int count = 0;
long sum = 0;
await foreach (int result in Hello.Functions.Square.Map(Enumerable.Range(1, 1000)))
{
    count++;
    sum += result;
}
Console.WriteLine($"Square.Map(1..1000)               = {count} results, sum {sum}");

Console.WriteLine($"Square's containers               = {(await Hello.Functions.Square.GetCurrentStatsAsync()).NumTotalRunners}");

// 4. A generator function streams its items.
var tokens = new List<string>();
await foreach (string token in Hello.Functions.Tokens.RemoteGen("functions stream their items as they go"))
{
    tokens.Add(token);
}
Console.WriteLine($"Tokens.RemoteGen(...)             = {string.Join(" ", tokens.Select(t => $"[{t}]"))}");

// 5. An exception thrown remotely arrives as a RemoteFunctionException with the remote type, message and stack trace.
try
{
    await Hello.Functions.Divide.RemoteAsync(1, 0);
}
catch (RemoteFunctionException exception)
{
    Console.WriteLine($"Divide.RemoteAsync(1, 0) threw    {exception.RemoteType}: {exception.RemoteMessage}");
    Console.WriteLine($"  remote stack trace starts with: {exception.RemoteStackTrace?.Split('\n')[0].Trim()}");
}
