// Run as a worker (the launcher sets MODAL_WORKER=1), this serves the app's inputs; it is never run as a client.
await using var app = await Modal.ModalApp.RunAsync(args);
