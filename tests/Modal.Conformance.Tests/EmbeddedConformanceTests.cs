namespace Modal.Conformance.Tests;

/// <summary>A control plane inside the test process; the functions run in worker processes it launches.</summary>
public sealed class EmbeddedFixture() : ModalAppFixture(ModalMode.Embedded);

[Collection(ConformanceCollection.Name)]
public sealed class EmbeddedConformanceTests(EmbeddedFixture fixture) : ConformanceTests<EmbeddedFixture>(fixture);
