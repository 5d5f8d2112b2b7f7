// example.cpp - one MoE layer from C++ (include/accel.hpp over libaccel.so): the whole layer,
// then the routed entry point fed the layer's own routing, as a serving runtime that routes
// itself would call it; both checked against the reference backend.
//
//   accel_example_cpp <config.json> <weights> <layer> [device] [tokens] [tolerance]
//
// Exits 0 when the device agrees with the reference, 1 when it does not, 2 on an Accel error.
#include <accel.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

// NMSE = sum((a-b)^2) / sum(b^2): the conformance suite's metric.
double nmse(const std::vector<float> &a, const std::vector<float> &b)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < b.size(); i++) {
        diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        norm += double(b[i]) * b[i];
    }
    return norm > 0 ? diff / norm : diff;
}

// An integer field of the session's JSON description.
long field(const std::string &json, const std::string &name)
{
    auto at = json.find("\"" + name + "\":");
    return at == std::string::npos ? 0 : std::stol(json.substr(at + name.size() + 3));
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s <config.json> <weights> <layer> [device] [tokens] [tolerance]\n", argv[0]);
        return 2;
    }
    const char *device = argc > 4 ? argv[4] : "cpu";
    const long tokens = argc > 5 ? std::stol(argv[5]) : 4;
    const double tolerance = argc > 6 ? std::stod(argv[6]) : 1e-8;
    try {
        // 1. The layer on the device with both entry points, and on the reference backend.
        const int layer = std::stoi(argv[3]);
        accel::Session session(argv[1], argv[2], accel::Options().device(device).layer(layer).mode(ACCEL_MODE_BOTH));
        accel::Session reference(argv[1], argv[2], accel::Options().device("reference").layer(layer));
        const std::string about = session.describe();
        const long d = field(about, "hidden_size"), k = field(about, "top_k");
        if (about.find("\"needs_token_ids\":true") != std::string::npos) {
            std::printf("layer %d is a hash layer; this sample runs scored layers (see samples/c for token ids)\n", layer);
            return 2;
        }
        std::printf("accel %s, layer %d on %s: hidden %ld, top-%ld\n", accel_version(), layer, device, d, k);

        // 2. Seeded activations; every buffer belongs to this program.
        std::mt19937 rng(2024);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        std::vector<float> hidden(tokens * d), out(tokens * d), routed(tokens * d), expected(tokens * d);
        std::vector<int32_t> ids(tokens * k);
        std::vector<float> weights(tokens * k);
        for (float &v : hidden) {
            v = uniform(rng);
        }
        auto x = accel::matrix(hidden, tokens, d), y = accel::matrix(out, tokens, d);
        auto topk = accel::matrix(ids, tokens, k), gates = accel::matrix(weights, tokens, k);

        // 3. The whole layer (router + experts), then the experts alone on the routing it chose.
        session.run(x, y, &topk, &gates);
        auto y_routed = accel::matrix(routed, tokens, d);
        session.run_routed(x, topk, gates, y_routed);
        auto y_ref = accel::matrix(expected, tokens, d);
        reference.run(x, y_ref);

        const double layer_error = nmse(out, expected), routed_error = nmse(routed, out);
        std::printf("layer      NMSE %.3e against the reference (tolerance %.0e)\n", layer_error, tolerance);
        std::printf("routed     NMSE %.3e against the whole layer\n", routed_error);
        const bool ok = layer_error <= tolerance && routed_error <= 1e-8;
        std::printf("result     %s\n", ok ? "OK" : "FAIL");
        return ok ? 0 : 1;
    } catch (const accel::Error &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
}
