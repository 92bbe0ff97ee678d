using HelloSample;
using Modal;

// Starts the app. With the default mode, calls run in this process for now; the same code runs them on a
// control plane and worker processes once those modes are available.
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

// 4. A generator function streams its items.
Console.Write("Tokens.RemoteGen(...)             =");
await foreach (string token in Hello.Functions.Tokens.RemoteGen("functions stream their items as they go"))
{
    Console.Write($" [{token}]");
}
Console.WriteLine();

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
