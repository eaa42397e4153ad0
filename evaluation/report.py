"""Records -> a Markdown table (one row per variant x size) with the environment under it, for docs
and the CLI's summary. Only formats; every number comes from the records."""

from evaluation.environment import describe


def _index(records):
    by = {}
    for r in records:
        by.setdefault((r["variant"], r["size"], r["group"]), []).append(r)
    return by


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def markdown_table(records):
    by = _index(records)
    variants = list(dict.fromkeys(r["variant"] for r in records))
    sizes = sorted({r["size"] for r in records if r["size"] is not None})
    header = ("| variant | runtime | precision | size | p50 ms | mean ms (std, n) | best img/s (batch) | "
              "peak MiB | PSNR dB mean/worst | SSIM mean/worst | LPIPS mean/worst | eyes/nose/mouth SSIM | "
              "file MB | params | GMAC@512 |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for v in variants:
        static = (by.get((v, None, "static")) or [None])[0]
        for size in sizes:
            lat = (by.get((v, size, "latency")) or [None])[0]
            if lat is None and not by.get((v, size, "quality")):
                continue
            first = lat or by[(v, size, "quality")][0]
            tps = by.get((v, size, "throughput"), [])
            best = max(tps, key=lambda r: r["metrics"]["images_per_s"]) if tps else None
            mem = (by.get((v, size, "memory")) or [None])[0]
            q = (by.get((v, size, "quality")) or [None])[0]
            fq = (by.get((v, size, "face_quality")) or [None])[0]
            qm, fm = (q or {}).get("metrics", {}), (fq or {}).get("metrics", {})
            sm = (static or {}).get("metrics", {})
            cells = [
                v, first["runtime"], first["precision"], str(size),
                _fmt(lat and lat["metrics"]["p50_ms"], ".0f"),
                (f"{lat['metrics']['mean_ms']:.0f} ({lat['metrics']['std_ms']:.0f}, {lat['metrics']['count']})"
                 if lat else "n/a"),
                (f"{best['metrics']['images_per_s']:.2f} ({best['metrics']['batch']})" if best else "n/a"),
                _fmt(mem and mem["metrics"]["peak_mb"], ".0f"),
                f"{_fmt(qm.get('psnr_mean'), '.2f')} / {_fmt(qm.get('psnr_worst'), '.2f')}" if q else "n/a",
                f"{_fmt(qm.get('ssim_mean'), '.4f')} / {_fmt(qm.get('ssim_worst'), '.4f')}" if q else "n/a",
                f"{_fmt(qm.get('lpips_mean'), '.4f')} / {_fmt(qm.get('lpips_worst'), '.4f')}" if q else "n/a",
                " / ".join(_fmt(fm.get(f"{r}_ssim_mean"), ".3f") for r in ("eyes", "nose", "mouth")) if fq else "n/a",
                _fmt(sm.get("file_bytes") and sm["file_bytes"] / 1e6, ".2f"),
                _fmt(sm.get("params"), ","),
                _fmt(sm.get("macs") and sm["macs"] / 1e9, ".1f"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environments(records):
    """Each environment once, then each variant's run settings (threads, delegate) on it."""
    envs = {}
    for r in records:
        env_id = r["env"]["env_id"]
        settings = f"{r['variant']} ({r['runtime']}, {r['device']}, threads {r['env'].get('threads')}, " \
                   f"delegate {r['env'].get('delegate')})"
        entry = envs.setdefault(env_id, (r["env"], []))
        if settings not in entry[1]:
            entry[1].append(settings)
    out = []
    for env, settings in envs.values():
        shared = {k: v for k, v in env.items() if k not in ("threads", "delegate")}
        text = describe({**shared, "threads": "per variant", "delegate": "per variant"})
        out.append(f"Environment:\n{text}\nrun settings: " + "; ".join(settings))
    return "\n\n".join(out)


def notes(records):
    seen = []
    for r in records:
        for n in r["notes"]:
            if n not in seen and not n.startswith("file:") and not n.startswith("input:"):
                seen.append(n)
    return seen
