using Accel.Types;

namespace Accel.Core.Tests.Types;

/// <summary>The UE8M0 decoder (built from the bits, inlined by the CPU kernels) against its definition.</summary>
[TestFixture]
public sealed class Ue8m0DecodeTests
{
    /// <summary>
    /// Every code decodes bit for bit as the definition 2^(u-127) (0 is 2^-127, 255 NaN).
    /// </summary>
    [Test]
    public void Every_ue8m0_code_decodes_as_the_reference_decoder()
    {
        for (int u = 0; u < 256; u++)
        {
            float expected = u == 255 ? float.NaN : MathF.ScaleB(1f, u - 127);
            float actual = NumericFormats.UE8M0ToF32((byte)u);
            Assert.That(BitConverter.SingleToInt32Bits(actual) == BitConverter.SingleToInt32Bits(expected) || (float.IsNaN(actual) && float.IsNaN(expected)),
                Is.True, $"code {u}: {actual} against {expected}");
        }
    }
}
