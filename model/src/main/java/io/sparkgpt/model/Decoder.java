package io.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/**
 * Inference for one sequence with ND4J's eager ops and a key/value cache: the same network as {@link GptModel}
 * (same parameters, same math), but each call processes only the new tokens, attending to the cached keys and
 * values of the earlier ones, so a generated token costs O(length) instead of a full forward pass.
 *
 * <pre>{@code
 * Decoder dec = new Decoder(cfg, params);
 * INDArray logits = dec.forward(promptIds);     // [V] logits of the next token after the prompt
 * logits = dec.forward(new int[]{nextId});      // one more token, using the cache
 * }</pre>
 * With {@code useCache = false} every call recomputes the whole sequence so far (the comparison baseline).
 */
public final class Decoder {
    private final GptConfig cfg;
    private final Map<String, INDArray> p;
    private final boolean useCache;
    private final int h;
    private final int hs;
    private final int d;
    /** [layer][head] -> [blockSize, hs]; rows [0, len) are filled. */
    private final INDArray[][] kCache;
    private final INDArray[][] vCache;
    private int len;
    private int[] history = new int[0];

    public Decoder(GptConfig cfg, Map<String, INDArray> params, boolean useCache) {
        GptModel.checkParams(cfg, params);
        this.cfg = cfg;
        this.p = params;
        this.useCache = useCache;
        this.h = cfg.nHead();
        this.hs = cfg.headSize();
        this.d = cfg.dModel();
        this.kCache = new INDArray[cfg.nLayer()][h];
        this.vCache = new INDArray[cfg.nLayer()][h];
        for (int l = 0; l < cfg.nLayer(); l++) {
            for (int j = 0; j < h; j++) {
                kCache[l][j] = Nd4j.zeros(cfg.nd4jType(), cfg.blockSize(), hs);
                vCache[l][j] = Nd4j.zeros(cfg.nd4jType(), cfg.blockSize(), hs);
            }
        }
    }

    public Decoder(GptConfig cfg, Map<String, INDArray> params) {
        this(cfg, params, true);
    }

    /** Tokens currently in the context. */
    public int length() {
        return len;
    }

    public void reset() {
        len = 0;
        history = new int[0];
    }

    /**
     * Appends {@code ids} to the context and returns the logits [V] for the token after the last one.
     *
     * @throws IllegalArgumentException if the context would exceed the block size (callers crop; see
     *                                  {@link Generator})
     */
    public INDArray forward(int[] ids) {
        return forwardAll(ids).getRow(ids.length - 1).dup();
    }

    /** As {@link #forward} but returns the logits of every new position, [n, V]. */
    public INDArray forwardAll(int[] ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        if (len + ids.length > cfg.blockSize()) {
            throw new IllegalArgumentException("context of " + (len + ids.length) + " tokens exceeds the block size " + cfg.blockSize());
        }
        int[] all = new int[history.length + ids.length];
        System.arraycopy(history, 0, all, 0, history.length);
        System.arraycopy(ids, 0, all, history.length, ids.length);
        history = all;
        if (!useCache) {
            len = 0;
            INDArray logits = run(all);
            return logits.get(NDArrayIndex.interval(all.length - ids.length, all.length), NDArrayIndex.all());
        }
        return run(ids);
    }

    /** Runs {@code ids} at positions [len, len + n), filling the cache. Returns [n, V]. */
    private INDArray run(int[] ids) {
        int n = ids.length;
        int p0 = len;
        int p1 = p0 + n;
        for (int id : ids) {
            if (id < 0 || id >= cfg.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + cfg.vocabSize());
            }
        }
        INDArray x = Nd4j.pullRows(p.get(GptModel.WTE), 1, ids)
                .addi(p.get(GptModel.WPE).get(NDArrayIndex.interval(p0, p1), NDArrayIndex.all()));
        INDArray mask = null;
        if (n > 1) {
            double[] m = new double[n * p1];
            for (int i = 0; i < n; i++) {
                for (int j = p0 + i + 1; j < p1; j++) {
                    m[i * p1 + j] = -1e9;
                }
            }
            mask = Nd4j.create(m, new long[]{n, p1}, 'c').castTo(cfg.nd4jType());
        }
        double scale = 1.0 / Math.sqrt(hs);
        for (int l = 0; l < cfg.nLayer(); l++) {
            String pre = "transformer.h." + l + ".";
            INDArray a = layerNorm(x, p.get(pre + "ln_1.weight"), p.get(pre + "ln_1.bias"));
            INDArray qkv = linear(a, p.get(pre + "attn.c_attn.weight"), p.get(pre + "attn.c_attn.bias"));
            INDArray y = Nd4j.create(cfg.nd4jType(), n, d);
            for (int j = 0; j < h; j++) {
                INDArray q = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(j * hs, (j + 1) * hs));
                INDArray k = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(d + j * hs, d + (j + 1) * hs));
                INDArray v = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * d + j * hs, 2 * d + (j + 1) * hs));
                kCache[l][j].get(NDArrayIndex.interval(p0, p1), NDArrayIndex.all()).assign(k);
                vCache[l][j].get(NDArrayIndex.interval(p0, p1), NDArrayIndex.all()).assign(v);
                INDArray kk = kCache[l][j].get(NDArrayIndex.interval(0, p1), NDArrayIndex.all());
                INDArray vv = vCache[l][j].get(NDArrayIndex.interval(0, p1), NDArrayIndex.all());
                INDArray att = q.dup().mmul(kk.transpose()).muli(scale);     // [n, p1]
                if (mask != null) {
                    att.addi(mask);
                }
                att = Transforms.softmax(att, false);
                y.get(NDArrayIndex.all(), NDArrayIndex.interval(j * hs, (j + 1) * hs)).assign(att.mmul(vv));
            }
            x.addi(linear(y, p.get(pre + "attn.c_proj.weight"), p.get(pre + "attn.c_proj.bias")));
            INDArray m = layerNorm(x, p.get(pre + "ln_2.weight"), p.get(pre + "ln_2.bias"));
            m = gelu(linear(m, p.get(pre + "mlp.c_fc.weight"), p.get(pre + "mlp.c_fc.bias")));
            x.addi(linear(m, p.get(pre + "mlp.c_proj.weight"), p.get(pre + "mlp.c_proj.bias")));
        }
        x = layerNorm(x, p.get(GptModel.LN_F_W), p.get(GptModel.LN_F_B));
        INDArray head = cfg.tied() ? p.get(GptModel.WTE) : p.get(GptModel.LM_HEAD);
        len = p1;
        return x.mmul(head.transpose());
    }

    private static INDArray linear(INDArray x, INDArray w, INDArray b) {
        INDArray y = x.mmul(w);
        return b == null ? y : y.addiRowVector(b);
    }

    private static INDArray layerNorm(INDArray x, INDArray g, INDArray b) {
        INDArray mu = x.mean(true, 1);
        INDArray xc = x.subColumnVector(mu);
        INDArray var = xc.mul(xc).mean(true, 1);
        INDArray rstd = Transforms.pow(var.addi(GptConfig.LN_EPS), -0.5, false);
        INDArray y = xc.muliColumnVector(rstd).muliRowVector(g);
        return b == null ? y : y.addiRowVector(b);
    }

    private static INDArray gelu(INDArray x) {
        INDArray inner = Transforms.pow(x, 3, true).muli(0.044715).addi(x).muli(Math.sqrt(2.0 / Math.PI));
        return Transforms.tanh(inner, false).addi(1.0).muli(x).muli(0.5);
    }

}
