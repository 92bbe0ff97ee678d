using Modal;

// A worker serves inputs here and never returns; with MODAL_DEPLOY set (modal deploy) this deploys the app and exits.
await using var app = await ModalApp.RunAsync(args);
Console.WriteLine($"App '{app.Name}' is running ({app.Mode}); 'modal deploy' deploys it.");
