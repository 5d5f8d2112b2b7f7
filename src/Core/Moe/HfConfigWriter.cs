using System.Text.Json.Nodes;
using Accel.Graph;

namespace Accel.Moe;

/// <summary>Writes a <see cref="MoeConfig"/> as the Hugging Face config.json fields <see cref="HfConfigReader"/> reads.</summary>
public static class HfConfigWriter
{
    /// <summary>The config.json text.</summary>
    public static string ToJson(MoeConfig c)
    {
        var o = new JsonObject { ["hidden_size"] = c.Hidden, ["num_experts_per_tok"] = c.TopK, ["num_hidden_layers"] = c.Layers };
        switch (c.Family)
        {
            case MoeFamily.DeepSeekV3:
                o["model_type"] = "deepseek_v3";
                o["n_routed_experts"] = c.Experts;
                o["moe_intermediate_size"] = c.ExpertWidth;
                o["n_shared_experts"] = c.SharedWidth / c.ExpertWidth;
                o["n_group"] = c.Groups;
                o["topk_group"] = c.TopGroups;
                o["scoring_func"] = ScoreName(c.Score);
                o["topk_method"] = c.SelectionBias ? "noaux_tc" : "greedy";
                o["norm_topk_prob"] = c.Normalize;
                o["routed_scaling_factor"] = c.RouteScale;
                o["first_k_dense_replace"] = c.FirstDenseLayers;
                break;
            case MoeFamily.DeepSeekV4:
                o["model_type"] = "deepseek_v4";
                o["n_routed_experts"] = c.Experts;
                o["moe_intermediate_size"] = c.ExpertWidth;
                o["n_shared_experts"] = c.SharedWidth > 0 ? 1 : 0;
                o["scoring_func"] = ScoreName(c.Score);
                o["routed_scaling_factor"] = c.RouteScale;
                o["num_hash_layers"] = c.HashLayers;
                o["vocab_size"] = c.Vocab;
                o["norm_topk_prob"] = c.Normalize;
                if (c.SwigluLimit is float l) { o["swiglu_limit"] = l; }
                break;
            case MoeFamily.Mixtral:
                o["model_type"] = "mixtral";
                o["num_local_experts"] = c.Experts;
                o["intermediate_size"] = c.ExpertWidth;
                break;
            case MoeFamily.Qwen2Moe:
                o["model_type"] = "qwen2_moe";
                o["num_experts"] = c.Experts;
                o["moe_intermediate_size"] = c.ExpertWidth;
                o["shared_expert_intermediate_size"] = c.SharedWidth;
                o["norm_topk_prob"] = c.Normalize;
                break;
        }

        return o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static string ScoreName(ScoreFunc f) => f switch
    {
        ScoreFunc.Sigmoid => "sigmoid",
        ScoreFunc.SqrtSoftplus => "sqrtsoftplus",
        _ => "softmax",
    };
}
