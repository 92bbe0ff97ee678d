using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/Modal.Benchmarks -- --filter '*'`; see bench/README.md.
BenchmarkSwitcher.FromAssembly(typeof(Modal.Benchmarks.BenchFunctions).Assembly).Run(args);
