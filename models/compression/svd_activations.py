"""SVD fitted to what a layer actually outputs on portraits, and one MAC budget shared across layers.

Weight SVD keeps the directions of largest |W| (Eckart-Young on the kernel); what the next layer sees is
W x on real inputs, whose energy lies in far fewer directions. With y = W x + b a conv's outputs on
calibration photos, mean m and covariance C = E[(y - m)(y - m)^T] = P diag(lambda) P^T, the rank-r map
    y ~ m + P_r P_r^T (y - m) = P_r (P_r^T W) x + P_r P_r^T b + (I - P_r P_r^T) m
is the best rank-r linear reconstruction of y in the mean-squared sense (PCA; Zhang et al., "Accelerating
Very Deep Convolutional Networks", TPAMI 2016). It is a k x k Cin -> r conv (kernel W P_r, no bias) then a
1 x 1 r -> Cout conv (kernel P_r^T, the bias above): the "lowrank" kind, at no extra cost.

Ranks under one budget for the whole model (`allocate`): starting from every layer as it is, repeatedly
cut the layer whose loss of kept energy costs least per MAC saved (over every lower rank, not only the
next one: a layer's first useful cut saves far more than its first rank), maximising the sum over layers of
log(kept energy) as Zhang et al. do, until the model's MACs fit.
"""

import numpy as np


def output_statistics(model, names, batches):
    """{name: (mean (Cout,), covariance (Cout, Cout))} of each named conv's output (pre-activation, bias
    included) over every pixel of `batches` (float32 BGR [-1, 1] arrays), accumulated in float64."""
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    sums = {n: None for n in names}
    for batch in batches:
        outputs = probe.predict(batch, verbose=0)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, y in zip(names, outputs):
            y = np.asarray(y, np.float64).reshape(-1, y.shape[-1])  # (pixels, Cout)
            acc = (len(y), y.sum(0), y.T @ y)
            sums[name] = acc if sums[name] is None else tuple(a + b for a, b in zip(sums[name], acc))
    stats = {}
    for name, (count, total, outer) in sums.items():
        mean = total / count
        stats[name] = (mean, outer / count - np.outer(mean, mean))
    return stats


def principal_axes(covariance):
    """(eigenvalues descending, clipped at 0; eigenvectors as columns in the same order)."""
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0, None), vectors[:, order]


def factor_kernels_to_outputs(kernel, bias, mean, axes, rank):
    """(first kernel (k, k, Cin, r), second kernel (1, 1, r, Cout), second bias) of the rank-`rank`
    projection of the outputs onto their principal axes."""
    k, _, cin, cout = kernel.shape
    p = axes[:, :rank].astype(np.float64)  # (Cout, r)
    first = kernel.reshape(-1, cout).astype(np.float64) @ p  # (k*k*Cin, r)
    projector = p @ p.T
    second_bias = projector @ bias + (np.eye(cout) - projector) @ mean
    return (first.reshape(k, k, cin, rank).astype(np.float32), p.T.reshape(1, 1, rank, cout).astype(np.float32),
            second_bias.astype(np.float32))


def allocate(layers, budget):
    """Ranks under a MAC budget. `layers`: {name: (spectrum descending (energy per rank), MACs of the
    layer as it is, MACs per kept rank)}; `budget`: MACs the listed layers may cost in all. Returns
    {name: rank} for the layers worth factorising (a rank whose MACs are below the layer's); raises
    ValueError when even rank 1 everywhere does not fit."""
    energy = {n: np.cumsum(s) / max(np.sum(s), 1e-30) for n, (s, _, _) in layers.items()}
    rank = {n: len(s) for n, (s, _, _) in layers.items()}

    def cost(n, r):
        _, full, per_rank = layers[n]
        return np.minimum(full, r * per_rank)

    def cheapest_cut(n):  # (price per MAC saved, rank) of the best lower rank; looking past the first
        r = np.arange(1, rank[n])  # step matters: leaving a layer whole -> its largest useful rank
        saved = cost(n, rank[n]) - cost(n, r)  # saves almost nothing, the ranks below it save a lot
        if not np.any(saved > 0):
            return None
        lost = np.log(energy[n][rank[n] - 1]) - np.log(np.maximum(energy[n][r - 1], 1e-30))
        price = np.where(saved > 0, lost / np.maximum(saved, 1e-30), np.inf)
        i = int(np.argmin(price))
        return price[i], int(r[i])

    total = sum(cost(n, rank[n]) for n in layers)
    while total > budget:
        cuts = {n: c for n in layers if (c := cheapest_cut(n)) is not None}
        if not cuts:
            raise ValueError(f"a MAC budget of {budget:,.0f} cannot be met even at rank 1 in every layer "
                             f"(that costs {total:,.0f}); raise model_mac_ratio or factorise more layers")
        best = min(cuts, key=lambda n: cuts[n][0])
        r = cuts[best][1]
        total -= cost(best, rank[best]) - cost(best, r)
        rank[best] = r
    return {n: r for n, r in rank.items() if cost(n, r) < layers[n][1]}
