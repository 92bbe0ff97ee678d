using EmbeddingsSample;
using Modal;

// A class with state (Modal's @app.cls): Embedder loads a vector table in [Enter], once per container, and serves
// Embed, Nearest and Served on that loaded table. By default a control plane starts in this process and runs the
// containers as worker processes (this same executable in worker mode); pass --in-process to run it all here.
var options = args.Contains("--in-process") ? new ModalAppOptions { Mode = ModalMode.InProcess } : null;
await using var app = await ModalApp.RunAsync(args, options);
Console.WriteLine($"App '{app.Name}' is running ({app.Mode}).");

var animals = Embedder.Cls.Create(table: "animals");   // one parameter set, one container pool
var boats = Embedder.Cls.Create(table: "boats");       // another set, another pool

float[] vector = await animals.Embed.RemoteAsync("wolf fox");
Console.WriteLine($"animals.Embed(\"wolf fox\")    = [{string.Join(", ", vector.Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))}]");
Console.WriteLine($"animals.Nearest(\"whale\")     = {await animals.Nearest.RemoteAsync("whale")}");
Console.WriteLine($"boats.Nearest(\"yacht\")       = {await boats.Nearest.RemoteAsync("yacht")}");

var nearest = await animals.Nearest.Map(["cat", "wolf", "goldfish"]).ToListAsync();
Console.WriteLine($"animals.Nearest.Map(...)      = {string.Join(", ", nearest)}");
Console.WriteLine($"animals.Served()              = {await animals.Served.RemoteAsync()} (inputs served by the container that answered)");

await boats.KeepWarmAsync(1);                          // keeps one 'boats' container running, 'animals' unaffected
Console.WriteLine($"boats' runners after KeepWarm = {(await boats.GetCurrentStatsAsync()).NumTotalRunners}");
await boats.KeepWarmAsync(0);
