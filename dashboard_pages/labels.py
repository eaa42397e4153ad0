"""How the pages name things: versions (`v7 fp16 @mobile`), stars, the machines records were measured on."""


def version_label(row):
    alias = f"  @{row['aliases'].replace(',', ' @')}" if row.get("aliases") else ""
    return f"v{int(row['version'])} {row['entry'] or row['variant']}{alias}"


def stars(n):
    return "–" if n is None else "★" * int(n) + "☆" * (5 - int(n))


def environments(records):
    """{hardware_id: human label} of the machines the records were measured on (evaluation.environment.machine_id:
    the Keras and LiteRT runs of one machine share it), in a stable order."""
    from evaluation.environment import machine_id

    out = {}
    for r in records:
        e = r.get("env") or {}
        hw = machine_id(e)
        if hw not in out:
            gpu = e.get("gpu")
            gpu = f", GPU {gpu.get('name') if isinstance(gpu, dict) else gpu}" if gpu else ""
            out[hw] = f"{e.get('cpu') or 'cpu ?'} · {e.get('cores') or '?'} cores{gpu} ({hw})"
    return dict(sorted(out.items()))
