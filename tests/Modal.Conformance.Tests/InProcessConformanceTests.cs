namespace Modal.Conformance.Tests;

public sealed class InProcessFixture() : ModalAppFixture(ModalMode.InProcess);

[Collection(ConformanceCollection.Name)]
public sealed class InProcessConformanceTests(InProcessFixture fixture) : ConformanceTests<InProcessFixture>(fixture);
