// The conformance suite references this project for its functions; run as a process, it is the app's worker.
await using var app = await Modal.ModalApp.RunAsync(args);
