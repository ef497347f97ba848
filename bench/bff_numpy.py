"""Dense BFF in numpy (float32, the machine's BLAS): the yardstick of `npm run bench:fusion`.

Reads a kvplan-kv/1 file and fuses layers 2..L-3 at one threshold exactly as DESIGN.md's
"Fusion semantics" says (keys decide, values follow), printing one JSON line:
{"threshold": t, "layers": [{"layer": l, "totalBlocks": n, "survivingBlocks": s}, ...]}.
Usage: python3 bench/bff_numpy.py FILE [THRESHOLD]
"""
import json, struct, sys
import numpy as np

DT = {"F32": np.float32, "F16": np.float16}


def unit(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1)


def bff(keys, vals, t):
    """keys, vals: one (blocks x D) unit array per sequence. Returns the surviving key rows."""
    if len(keys) == 1:
        return keys[0], vals[0]
    mid = len(keys) // 2
    lk, lv = bff(keys[:mid], vals[:mid], t)
    rk, rv = bff(keys[mid:], vals[mid:], t)
    match = (lk @ rk.T) > t  # cos(a, b) > t, left x right
    m = match.astype(np.float32)
    hit = match.any(axis=1)
    lk = np.where(hit[:, None], unit(lk + m @ rk), lk)  # normalize(mean([a] + M(a)))
    lv = np.where(hit[:, None], unit(lv + m @ rv), lv)
    keep = ~match.any(axis=0)
    return np.concatenate([lk, rk[keep]]), np.concatenate([lv, rv[keep]])


def main():
    path, t = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.7
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        head = json.loads(f.read(n))
        base = 8 + n
        meta = head.pop("__metadata__")
        bs, lens = int(meta["block_size"]), json.loads(meta["seq_lens"])
        num_layers = sum(1 for k in head if k.endswith(".key"))
        out = []
        for l in range(2, num_layers - 2):
            parts = []
            for kind in ("key", "value"):
                e = head[f"layers.{l}.{kind}"]
                s, e0, e1 = e["shape"], *e["data_offsets"]
                f.seek(base + e0)
                a = np.frombuffer(f.read(e1 - e0), DT[e["dtype"]]).astype(np.float32)
                a = a.reshape(s[0], s[1], -1)
                parts.append([unit(a[i, : lens[i] // bs]) for i in range(s[0])])
            total = sum(len(k) for k in parts[0])
            surv = len(bff(parts[0], parts[1], t)[0])
            out.append({"layer": l, "totalBlocks": total, "survivingBlocks": surv})
    print(json.dumps({"threshold": t, "layers": out}))


if __name__ == "__main__":
    main()
