using Accel.Graph;

namespace Accel.Core.Tests.Graph;

/// <summary>The op schema table: complete, consistent, and the positions backends read from it.</summary>
public sealed class OpSchemaTests
{
    private static IEnumerable<OpKind> Kinds => Enum.GetValues<OpKind>();

    [TestCaseSource(nameof(Kinds))]
    public void Every_op_has_a_consistent_schema(OpKind kind)
    {
        var s = OpSchemas.Of(kind);
        Assert.That(s.Kind, Is.EqualTo(kind));
        Assert.That(s.Inputs, Is.Not.Empty);
        Assert.That(s.Outputs, Is.Not.Empty);
        Assert.That(s.Inputs.Select(i => i.Name), Is.Unique);
        for (int i = 0; i < s.Inputs.Length; i++)
        {
            var input = s.Inputs[i];
            if (input.Role == InputRole.Scale)
            {
                Assert.That(s.IsWeight(input.ScaleOf), Is.True, $"{kind} '{input.Name}' scales input {input.ScaleOf}, which is not a weight");
                Assert.That(s.ScaleFor(input.ScaleOf), Is.EqualTo(i));
            }
            else
            {
                Assert.That(input.ScaleOf, Is.EqualTo(-1), $"{kind} '{input.Name}' is not a scale");
            }
        }
    }

    // op -> (stored input, its scale) pairs that devices convert at upload
    private static readonly object[][] Stored =
    [
        [OpKind.RmsNorm, new[] { (1, -1) }],
        [OpKind.RouterGemm, new[] { (1, -1) }],
        [OpKind.GroupedGemm, new[] { (1, 2) }],
        [OpKind.SharedExpert, new[] { (1, 2), (3, 4), (5, 6), (7, -1) }],
        [OpKind.DequantFp8Block, new[] { (0, 1) }],
        [OpKind.DequantFp4, new[] { (0, 1) }],
        [OpKind.HashRoute, new[] { (1, -1) }],
        [OpKind.Permute, Array.Empty<(int, int)>()],
        [OpKind.SwiGlu, Array.Empty<(int, int)>()],
    ];

    [TestCaseSource(nameof(Stored))]
    public void Stored_inputs_pair_weights_with_their_scales(OpKind kind, (int, int)[] expected) =>
        Assert.That(OpSchemas.Of(kind).StoredInputs, Is.EqualTo(expected));

    // op, position -> optional?
    [TestCase(OpKind.GroupedGemm, 2, true)]
    [TestCase(OpKind.GroupedGemm, 1, false)]
    [TestCase(OpKind.SwiGlu, 2, true)]
    [TestCase(OpKind.SwiGlu, 1, false)]
    [TestCase(OpKind.SharedExpert, 7, true)]
    [TestCase(OpKind.DequantFp4, 1, false)]
    [TestCase(OpKind.Unpermute, 2, true)]
    public void Optional_positions_come_from_the_schema(OpKind kind, int position, bool optional) =>
        Assert.That(OpSignatures.IsOptional(kind, position), Is.EqualTo(optional));

    [Test]
    public void Output_counts_match_what_the_builder_creates()
    {
        Assert.That(OpSchemas.Of(OpKind.BuildPermutation).Outputs, Has.Length.EqualTo(3));
        Assert.That(OpSchemas.Of(OpKind.ActQuantFp8).Outputs, Has.Length.EqualTo(2));
        Assert.That(OpSchemas.All.Select(s => s.Kind), Is.EqualTo(Kinds));
    }
}
