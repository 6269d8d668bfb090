package io.sparkgpt.model;

import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * The GPT's forward pass and loss as SameDiff ops on a caller's graph, from the caller's parameter variables (keyed
 * by the HF names of {@link GptModel#paramSpecs}): what the deeplearning4j layer of {@code pretrain --engine
 * dl4j-spark} runs. Every other path runs the explicit passes of {@link Gpt}, which define the math; this graph
 * computes the same functions (checked against it in the dl4j layer's test).
 *
 * <p>Choices forced by ND4J 1.0.0-M2.1 in a graph: LayerNorm composed from mean/variance ops ({@code layer_norm} has
 * no epsilon); attention as matmul + additive causal mask + softmax (the fused {@code multiHeadDotProductAttention}
 * without a mask is not causal); GELU composed as {@code x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))}, PyTorch's
 * {@code gelu(approximate="tanh")} ({@code preciseGelu} is not); the loss as the fused {@code softmaxCrossEntropy}
 * with one-hot labels and rank-1 per-token weights ({@code sparseSoftmaxCrossEntropy}'s backward ignores the
 * upstream gradient).
 */
public final class GptGraph {

    /** Where dropout goes: a graph returns {@code x} unchanged, or multiplies it by a mask of that shape. */
    @FunctionalInterface
    public interface Dropout {
        Dropout NONE = (x, name, shape) -> x;

        SDVariable apply(SDVariable x, String name, long[] shape);
    }

    private final SameDiff sd;
    private final GptConfig cfg;
    private final int seqLen;

    public GptGraph(SameDiff sd, GptConfig cfg, int seqLen) {
        this.sd = sd;
        this.cfg = cfg;
        this.seqLen = seqLen;
    }

    /**
     * Logits {@code [B*T, V]} of token embeddings {@code tokEmb} ({@code [B*T, d]}, rows of {@code wte}): position
     * embeddings, the L blocks, the final LayerNorm and the (tied or separate) head.
     */
    public SDVariable logits(Map<String, SDVariable> p, SDVariable tokEmb, Dropout dropout) {
        return lmLogits(p, hidden(p, tokEmb, dropout));
    }

    /**
     * The final hidden states {@code [B*T, d]}: position embeddings, the L blocks and the final LayerNorm, the
     * input of the language-model head and of the scalar (reward, value) heads.
     */
    public SDVariable hidden(Map<String, SDVariable> p, SDVariable tokEmb, Dropout dropout) {
        int t = seqLen, d = cfg.dModel(), h = cfg.nHead(), hs = cfg.headSize();
        // x = wte[idx] + wpe[:T], kept as [B*T, d]
        SDVariable pos = sd.slice(p.get(GptModel.WPE), new int[]{0, 0}, t, d);    // [T, d]
        SDVariable x = sd.reshape(sd.reshape(tokEmb, -1, t, d).add(pos), -1, d);
        x = dropout.apply(x, "drop.emb", new long[]{-1, d});

        // causal mask: 0 on and below the diagonal, -1e9 above (exp underflows to exactly 0)
        double[] mask = new double[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                mask[i * t + j] = -1e9;
            }
        }
        SDVariable causal = sd.constant("causal_mask", Nd4j.create(mask, new long[]{t, t}, 'c').castTo(cfg.nd4jType()));
        double scale = 1.0 / Math.sqrt(hs);
        for (int i = 0; i < cfg.nLayer(); i++) {
            String pre = "transformer.h." + i + ".";
            // attention
            SDVariable a = layerNorm(x, p.get(pre + "ln_1.weight"), p.get(pre + "ln_1.bias"));
            SDVariable qkv = linear(a, p.get(pre + "attn.c_attn.weight"), p.get(pre + "attn.c_attn.bias"));  // [BT, 3d]
            SDVariable q = heads(sd.slice(qkv, new int[]{0, 0}, -1, d).mul(scale), h, hs);   // scale q, not q.k
            SDVariable k = heads(sd.slice(qkv, new int[]{0, d}, -1, d), h, hs);
            SDVariable v = heads(sd.slice(qkv, new int[]{0, 2 * d}, -1, d), h, hs);
            SDVariable att = sd.mmul(q, k, false, true, false).add(causal);                // [B, H, T, T]
            att = sd.nn.softmax(att, -1);
            att = dropout.apply(att, "drop.attn." + i, new long[]{-1, h, t, t});
            SDVariable y = sd.mmul(att, v);                                                 // [B, H, T, hs]
            y = sd.reshape(sd.permute(y, 0, 2, 1, 3), -1, d);                                // [BT, d]
            y = linear(y, p.get(pre + "attn.c_proj.weight"), p.get(pre + "attn.c_proj.bias"));
            x = x.add(dropout.apply(y, "drop.resid1." + i, new long[]{-1, d}));
            // MLP
            SDVariable m = layerNorm(x, p.get(pre + "ln_2.weight"), p.get(pre + "ln_2.bias"));
            m = gelu(linear(m, p.get(pre + "mlp.c_fc.weight"), p.get(pre + "mlp.c_fc.bias")));
            m = linear(m, p.get(pre + "mlp.c_proj.weight"), p.get(pre + "mlp.c_proj.bias"));
            x = x.add(dropout.apply(m, "drop.resid2." + i, new long[]{-1, d}));
        }
        return layerNorm(x, p.get(GptModel.LN_F_W), p.get(GptModel.LN_F_B));
    }

    /** The (tied or separate) language-model head: hidden states {@code [B*T, d]} to logits {@code [B*T, V]}. */
    public SDVariable lmLogits(Map<String, SDVariable> p, SDVariable hidden) {
        SDVariable head = cfg.tied() ? p.get(GptModel.WTE) : p.get(GptModel.LM_HEAD);
        return sd.mmul(hidden, head, false, true, false);
    }

    /**
     * {@code sum_t w_t * CE(logits_t, targets_t)}: one fused op with its own backward. {@code targets} are int
     * token ids {@code [B*T]}, {@code weights} a rank-1 {@code [B*T]} vector (the op needs rank 1).
     */
    public SDVariable loss(String name, SDVariable logits, SDVariable targets, SDVariable weights) {
        SDVariable labels = sd.oneHot(targets, cfg.vocabSize(), -1, 1.0, 0.0, cfg.nd4jType());
        return sd.loss.softmaxCrossEntropy(name, labels, logits, weights, LossReduce.SUM, 0.0);
    }

    /** [BT, d] -> [B, H, T, hs]. */
    private SDVariable heads(SDVariable x, int h, int hs) {
        return sd.permute(sd.reshape(x, -1, seqLen, h, hs), 0, 2, 1, 3);
    }

    SDVariable linear(SDVariable x, SDVariable w, SDVariable b) {
        SDVariable y = sd.mmul(x, w);
        return b == null ? y : sd.nn.biasAdd(y, b, false);
    }

    private SDVariable layerNorm(SDVariable x, SDVariable g, SDVariable b) {
        SDVariable mu = x.mean(true, -1);
        SDVariable xc = x.sub(mu);
        SDVariable var = sd.math.square(xc).mean(true, -1);
        SDVariable y = xc.mul(sd.math.rsqrt(var.add(GptConfig.LN_EPS))).mul(g);
        return b == null ? y : y.add(b);
    }

    /** 0.5 x (1 + tanh(z)) = x * sigmoid(2z), z = sqrt(2/pi) (x + 0.044715 x^3): two ops fewer. */
    private SDVariable gelu(SDVariable x) {
        SDVariable z2 = x.add(sd.math.cube(x).mul(0.044715)).mul(2 * Math.sqrt(2.0 / Math.PI));
        return x.mul(sd.nn.sigmoid(z2));
    }
}
