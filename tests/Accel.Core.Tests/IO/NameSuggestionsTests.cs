using Accel.IO;
using NUnit.Framework;

namespace Accel.Core.Tests.IO;

[TestFixture]
public sealed class NameSuggestionsTests
{
    [TestCase("", "", 0)]
    [TestCase("abc", "", 3)]
    [TestCase("kitten", "sitting", 3)]
    [TestCase("w1.weight", "w1.weigth", 2)]
    [TestCase("same", "same", 0)]
    public void Distance_is_the_edit_distance(string a, string b, int expected)
    {
        Assert.That(NameSuggestions.Distance(a, b), Is.EqualTo(expected));
        Assert.That(NameSuggestions.Distance(b, a), Is.EqualTo(expected));
    }

    [Test]
    public void Distance_stops_at_the_limit()
    {
        Assert.That(NameSuggestions.Distance("aaaaaaaa", "bbbbbbbb", limit: 3), Is.EqualTo(3));
        Assert.That(NameSuggestions.Distance("a", "abcdefgh", limit: 2), Is.EqualTo(2));
    }

    [Test]
    public void Closest_ranks_by_distance_then_name_and_caps_the_count()
    {
        string[] names = ["x.w3", "x.w2", "x.w1", "y.w1", "zzzzzzzz", "x.w10", "x.w11"];
        Assert.That(NameSuggestions.Closest("x.w1", names), Is.EqualTo(new[] { "x.w1", "x.w10", "x.w11", "x.w2", "x.w3" }));
        Assert.That(NameSuggestions.Closest("x.w1", names, max: 2), Is.EqualTo(new[] { "x.w1", "x.w10" }));
        Assert.That(NameSuggestions.Closest("q", []), Is.Empty);
    }
}
