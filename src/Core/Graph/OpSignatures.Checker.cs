using Accel.Errors;
using Accel.Types;

namespace Accel.Graph;

public static partial class OpSignatures
{
    /// <summary>Checks one node's inputs and raises messages that name the node and the input.</summary>
    private sealed class Checker(OpNode node, IReadOnlyList<Value?> inputs)
    {
        private readonly string[] _names = InputNames(node.Kind);

        public OpNode Node => node;

        public T Attr<T>() where T : OpAttributes => node.Attributes as T
            ?? throw Fail($"expects attributes of type {typeof(T).Name} but has {node.Attributes.GetType().Name}.");

        public GraphValidationException Fail(string problem) => new(node.Name, problem);

        public void Require(bool condition, string problem)
        {
            if (!condition)
            {
                throw Fail(problem);
            }
        }

        public void CheckPresence()
        {
            int expected = InputCount(node.Kind);
            Require(inputs.Count == expected,
                $"{node.Kind} takes {expected} inputs ({string.Join(", ", _names)}) but {inputs.Count} were given.");
            for (int i = 0; i < expected; i++)
            {
                Require(inputs[i] is not null || IsOptional(node.Kind, i),
                    $"the required input '{_names[i]}' is missing; connect a value to it.");
            }
        }

        public bool Has(int i) => inputs[i] is not null;

        public Value In(int i) => inputs[i] ?? throw Fail($"the input '{_names[i]}' is missing.");

        public string Describe(int i) => $"input '{_names[i]}' ({inputs[i]})";

        public Value Typed(int i, DTypeSet allowed)
        {
            var v = In(i);
            Require(allowed.Contains(v.Type),
                $"{Describe(i)} has dtype {v.Type.ShortName()} but must be one of {{{Format(allowed)}}}.");
            return v;
        }

        public Value Typed(int i, DType type) => Typed(i, DTypeSetExtensions.Of(type));

        public Value Rank(int i, int rank, DTypeSet allowed)
        {
            var v = Typed(i, allowed);
            Require(v.Shape.Rank == rank, $"{Describe(i)} must have rank {rank} but has rank {v.Shape.Rank}.");
            return v;
        }

        public Value Matrix(int i, DType type) => Rank(i, 2, DTypeSetExtensions.Of(type));

        public Value Vector(int i, DTypeSet allowed) => Rank(i, 1, allowed);

        public void SameDim(Dim actual, Dim expected, string what) =>
            Require(actual == expected, $"{what} is {actual} but must be {expected}.");

        public long Fixed(Dim d, string what)
        {
            Require(d.IsFixed, $"{what} must not depend on the token count (it is {d}).");
            return d.Constant;
        }

        private static string Format(DTypeSet set) =>
            string.Join(", ", Enum.GetValues<DType>().Where(t => set.Contains(t)).Select(t => t.ShortName()));
    }
}
