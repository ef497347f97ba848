#!/usr/bin/env python3
"""Export real KV caches to kvplan's KV sample format (`kvplan-kv/1`, a safetensors file).

For the models people plan for (8B-70B) on the GPU boxes that already run PyTorch: prefill a
few prompts with Hugging Face transformers, take each layer's keys (after RoPE, as the cache
holds them) and values, cut them into blocks, add the real attention queries of each prompt's
last tokens, and write what `kvplan plan`, `kvplan fuse` and the fusion-profile job read.

    # from a model (needs torch and transformers; prompts from JSON Lines {"text": ...} or a
    # trace CSV/JSONL with a `text` column):
    python3 tools/export-kv.py --model meta-llama/Llama-3.1-8B --prompts prompts.jsonl \\
        --out kv.safetensors [--block-size 16] [--queries 4] [--max-tokens 2048] \\
        [--limit 32] [--dtype f16|bf16|f32] [--device cuda]

    # from arrays you captured yourself (numpy only): an .npz with key_<l> and value_<l>
    # ([numSeqs, T, numKvHeads, headDim], zero-padded past each length), seq_lens ([numSeqs]),
    # optionally query_<l> ([numSeqs, numQueries, numHeads, headDim]):
    python3 tools/export-kv.py --from-npz arrays.npz --out kv.safetensors --block-size 16 \\
        [--model-name NAME] [--rope-theta 500000]

The file (DESIGN.md, "KV sample file"): per layer `layers.<l>.key` / `.value`
[numSeqs, maxBlocks, blockSize, numKvHeads, headDim] zero-padded, `layers.<l>.query`
[numSeqs, numQueries, numHeads, headDim]; metadata format=kvplan-kv/1, block_size, seq_lens,
model, rope=applied, rope_theta, rope_scaling, positions (all 0), query_positions.
Only numpy is needed for the writing part; torch and transformers only for --model.
"""
import argparse
import csv
import json
import struct
import sys

import numpy as np

FORMAT = "kvplan-kv/1"
DTYPES = {"f32": ("F32", np.float32), "f16": ("F16", np.float16), "bf16": ("BF16", None)}


def to_blocks(x, seq_lens, block_size):
    """[numSeqs, T, H, hd] (zero past each length) -> [numSeqs, maxBlocks, blockSize, H, hd]."""
    x = np.asarray(x)
    n, _, h, hd = x.shape
    max_blocks = max(1, -(-max(seq_lens) // block_size))
    out = np.zeros((n, max_blocks * block_size, h, hd), dtype=np.float32)
    for i, length in enumerate(seq_lens):
        out[i, :length] = x[i, :length]
    return out.reshape(n, max_blocks, block_size, h, hd)


def encode(a, dtype):
    """float32 array -> (safetensors dtype, little-endian bytes)."""
    name, np_type = DTYPES[dtype]
    a = np.ascontiguousarray(a, dtype=np.float32)
    if name == "BF16":  # round to nearest even on the upper 16 bits
        u = a.view(np.uint32).astype(np.uint64)
        u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
        return name, u.tobytes()
    return name, a.astype(np.dtype(np_type).newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, safetensors dtype, shape, bytes); metadata: str -> str."""
    header = {"__metadata__": metadata}
    offset = 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, _, _, data in tensors:
            f.write(data)


def write_kv_sample(path, keys, values, seq_lens, block_size, queries=None, dtype="f16",
                    model=None, rope_theta=None, rope_scaling=None, tenants=None, query_positions=None):
    """keys, values: per layer [numSeqs, T, numKvHeads, headDim]; queries: per layer
    [numSeqs, numQueries, numHeads, headDim] or None. Writes a kvplan-kv/1 file."""
    seq_lens = [int(s) for s in seq_lens]
    if len(keys) != len(values) or not keys:
        raise ValueError("keys and values need the same number (>= 1) of layers")
    tensors = []
    for l, (k, v) in enumerate(zip(keys, values)):
        for kind, a in (("key", k), ("value", v)):
            b = to_blocks(a, seq_lens, block_size)
            dt, data = encode(b, dtype)
            tensors.append((f"layers.{l}.{kind}", dt, b.shape, data))
        if queries is not None:
            q = np.asarray(queries[l], dtype=np.float32)
            dt, data = encode(q, dtype)
            tensors.append((f"layers.{l}.query", dt, q.shape, data))
    meta = {
        "format": FORMAT,
        "block_size": str(block_size),
        "seq_lens": json.dumps(seq_lens),
        "rope": "applied",
        "positions": json.dumps([0] * len(seq_lens)),
    }
    if model:
        meta["model"] = model
    if rope_theta is not None:
        meta["rope_theta"] = str(rope_theta)
    if rope_scaling:
        meta["rope_scaling"] = json.dumps(rope_scaling)
    if tenants:
        meta["tenants"] = json.dumps(list(tenants))
    if queries is not None:
        nq = np.asarray(queries[0]).shape[1]
        qp = query_positions or [[s - nq + j for j in range(nq)] for s in seq_lens]
        meta["query_positions"] = json.dumps(qp)
    write_safetensors(path, tensors, meta)


def read_prompts(path, limit):
    """Texts from JSON Lines ({"text": ...}) or a trace CSV with a `text` column."""
    texts = []
    with open(path, newline="") as f:
        if path.endswith(".csv"):
            texts = [r["text"] for r in csv.DictReader(f) if r.get("text")]
        else:
            texts = [json.loads(line).get("text") for line in f if line.strip()]
            texts = [t for t in texts if t]
    if not texts:
        raise SystemExit(f"{path}: no prompt with a `text` field")
    return texts[:limit]


def capture(model_id, texts, num_queries, max_tokens, device):
    """Prefills each prompt; returns per-layer keys/values [n, T, H, hd], queries, lengths, config."""
    import torch  # noqa: PLC0415 (only this path needs torch)
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb  # noqa: PLC0415

    tok = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForCausalLM.from_pretrained(model_id, torch_dtype=torch.bfloat16).to(device).eval()
    cfg = model.config
    layers = model.model.layers
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    q_out = {}
    # The attention hook: q_proj's output is the pre-RoPE query; RoPE is applied below with the
    # model's own rotary embedding, at the tokens' positions, as the attention does.
    hooks = [layer.self_attn.q_proj.register_forward_hook(
        lambda _m, _i, out, l=l: q_out.__setitem__(l, out.detach())) for l, layer in enumerate(layers)]
    keys, values, queries, lens = [[] for _ in layers], [[] for _ in layers], [[] for _ in layers], []
    try:
        for text in texts:
            ids = tok(text, return_tensors="pt", truncation=True, max_length=max_tokens).input_ids.to(device)
            T = ids.shape[1]
            with torch.no_grad():
                out = model(ids, use_cache=True)
            pos = torch.arange(T, device=device)[None]
            cos, sin = model.model.rotary_emb(ids.new_zeros(1, T, hd, dtype=torch.float32), pos)
            cache = out.past_key_values
            for l in range(len(layers)):
                k, v = (cache[l][0], cache[l][1]) if not hasattr(cache, "layers") else (cache.layers[l].keys, cache.layers[l].values)
                keys[l].append(k[0].transpose(0, 1).float().cpu().numpy())  # [T, H, hd]
                values[l].append(v[0].transpose(0, 1).float().cpu().numpy())
                q = q_out[l].view(1, T, -1, hd).transpose(1, 2)  # [1, heads, T, hd]
                q, _ = apply_rotary_pos_emb(q.float(), q.float(), cos, sin)
                queries[l].append(q[0, :, T - num_queries:].transpose(0, 1).cpu().numpy())
            lens.append(T)
    finally:
        for h in hooks:
            h.remove()

    def pad(xs):
        out = np.zeros((len(xs), max(lens)) + xs[0].shape[1:], dtype=np.float32)
        for i, x in enumerate(xs):
            out[i, : x.shape[0]] = x
        return out

    return ([pad(k) for k in keys], [pad(v) for v in values], [np.stack(q) for q in queries], lens, cfg)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f16")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="Hugging Face model id or folder (needs torch, transformers)")
    src.add_argument("--from-npz", help="arrays captured elsewhere (see the module docstring)")
    p.add_argument("--prompts", help="JSON Lines or trace CSV with a text field (--model)")
    p.add_argument("--queries", type=int, default=4, help="last tokens' queries kept per prompt")
    p.add_argument("--max-tokens", type=int, default=2048)
    p.add_argument("--limit", type=int, default=32, help="prompts")
    p.add_argument("--device", default="cuda")
    p.add_argument("--model-name", help="metadata `model` (--from-npz)")
    p.add_argument("--rope-theta", type=float, help="metadata `rope_theta` (--from-npz)")
    a = p.parse_args(argv)
    if a.block_size < 1:
        p.error("--block-size: expected a positive integer")
    if a.from_npz:
        z = np.load(a.from_npz)
        layers = sorted(int(k.split("_")[1]) for k in z.files if k.startswith("key_"))
        if layers != list(range(len(layers))) or not layers:
            p.error(f"{a.from_npz}: expected key_0..key_<L-1> (got {sorted(z.files)})")
        has_q = all(f"query_{l}" in z.files for l in layers)
        write_kv_sample(a.out, [z[f"key_{l}"] for l in layers], [z[f"value_{l}"] for l in layers],
                        z["seq_lens"].tolist(), a.block_size,
                        [z[f"query_{l}"] for l in layers] if has_q else None, a.dtype,
                        model=a.model_name, rope_theta=a.rope_theta)
    else:
        if not a.prompts:
            p.error("--model needs --prompts")
        keys, values, queries, lens, cfg = capture(a.model, read_prompts(a.prompts, a.limit), a.queries,
                                                    a.max_tokens, a.device)
        write_kv_sample(a.out, keys, values, lens, a.block_size, queries, a.dtype, model=a.model,
                        rope_theta=getattr(cfg, "rope_theta", None),
                        rope_scaling=getattr(cfg, "rope_scaling", None))
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
