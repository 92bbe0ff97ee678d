// Run as a worker (the launcher sets MODAL_WORKER=1) this serves ColdPing's inputs; with MODAL_DEPLOY=1 it deploys the app.
await using var app = await Modal.ModalApp.RunAsync(args);
