using Modal;

// A minimal API that calls functions of a deployed app. Start a control plane and deploy the Hello sample to it:
//   dotnet run --project src/Server -- --port 50051 --db modal.db
//   MODAL_SERVER_URL=http://127.0.0.1:50051 dotnet run --project samples/Hello -- deploy
// then run this and open http://localhost:5000/square/7 and http://localhost:5000/healthz.
var builder = WebApplication.CreateBuilder(args);

// Connects while the host runs, with ServerUrl, TokenId, TokenSecret (and AppName, Mode, RetryWindowSeconds) from the
// "Modal" section of appsettings.json, or Modal__ServerUrl and so on in the environment. Adds the "modal" health check.
builder.Services.AddModal(builder.Configuration.GetSection("Modal"));

var app = builder.Build();

app.MapGet("/square/{x:int}", async (int x) => new { x, square = await Function.FromName("hello", "Square").RemoteAsync<int>(x) });

// Remote failures arrive with the remote exception's type and message.
app.MapGet("/divide/{numerator:int}/{denominator:int}", async (int numerator, int denominator) =>
{
    try
    {
        return Results.Ok(await Function.FromName("hello", "Divide").RemoteAsync<int>(numerator, denominator));
    }
    catch (RemoteFunctionException exception)
    {
        return Results.Problem($"{exception.RemoteType}: {exception.RemoteMessage}", statusCode: StatusCodes.Status422UnprocessableEntity);
    }
});

app.MapHealthChecks("/healthz");

app.Run();
