"""The build pipeline's bridge to `evaluation/`: one variant folder -> evaluation records.

Every variant of a build is measured the same way, by `evaluation.runner.evaluate_variant`: static
figures, latency (warm-up, then timed runs), throughput and peak memory (isolated process) in full
builds, and quality (PSNR, SSIM, LPIPS when the real backbone is present; face regions in full builds)
against the ORIGINAL's output on the same input at the same size, computed once per style and build.
Records follow docs/contracts.md and carry the environment fingerprint.
"""

from pathlib import Path

from registry import keys

_LPIPS = {}  # loaded once per process: (metric or None, note or None)


def ensure_original(state):
    if state.original is None:
        from models.variant import KerasVariant
        from models.dctnet import Architecture
        from models.weights import load_model

        state.original = KerasVariant(load_model(state.style), Architecture(), name=f"{state.style}/original")
    return state.original


def write_variant(built, model, tflite, report, architecture=None):
    from models.dctnet import Architecture

    from registry.artifacts import write_folder

    if model is not None and architecture is None and not built.chain:
        architecture = Architecture()  # the original
    return write_folder(built.folder, built.manifest(), keras_model=model, tflite_path=tflite, report=report,
                        architecture=architecture)


def registered_keras(store, style, config_hash, code):
    """A registered Keras variant (same config hash and code version) as a KerasVariant, or None."""
    from models.variant_io import load_variant

    from registry.aliasing import download_version
    from registry.artifacts import has_keras_variant, read_manifest
    from registry.queries import find_version

    version = find_version(store, style, config_hash, code)
    if version is None:
        return None
    folder, _ = download_version(style, version.version, store)
    if not has_keras_variant(folder):
        return None
    return load_variant(folder, name=read_manifest(folder)["variant"])


def _lpips():
    if "metric" not in _LPIPS:
        from evaluation.perceptual import try_load_lpips

        _LPIPS["metric"], _LPIPS["note"] = try_load_lpips()
    return _LPIPS["metric"], _LPIPS["note"]


def run_config(settings):
    from evaluation.performance import TimingConfig
    from evaluation.runner import RunConfig

    runs = settings["latency_runs"]
    return RunConfig(sizes=tuple(settings["sizes"]), groups=tuple(settings["groups"]),
                     batches=tuple(settings["batches"]), timing=TimingConfig(warmup=1, min_runs=runs, max_runs=runs),
                     throughput_timing=TimingConfig(warmup=1, min_runs=2, max_runs=2), memory_runs=1)


def evaluate(store, state, built, folder, settings):
    """Measure the variant in `folder` with evaluation.runner -> (records, {photo: sample cartoon}).

    The reference (the style's original) and face detections are computed once per style and build."""
    from evaluation.runner import Reference, evaluate_variant
    from evaluation.variants import build_predictor
    from models.fitting import square_input
    from models.images import load_image

    from evaluation.variants import spec_from_folder

    from registry.artifacts import add_samples

    spec = spec_from_folder(folder, settings.get("threads"))
    if getattr(state, "reference", None) is None:
        state.reference, state.faces = Reference("original"), {}
    photos = [(Path(p).name, load_image(p)) for p in settings["image_paths"]]
    lpips_metric, lpips_note = _lpips()
    outputs = {}
    records = evaluate_variant(spec, photos, run_config(settings), state.reference, state.faces,
                               lpips_metric, lpips_note, tick=lambda *a, **k: None, outputs=outputs)
    size = settings["sizes"][0]
    if all((size, name) in outputs for name, _ in photos):  # the quality pass's cartoons
        samples = {name: outputs[(size, name)] for name, _ in photos}
    else:  # no quality group: run the variant for its sample cartoons
        predictor = build_predictor(**spec.to_dict())
        samples = {name: predictor.predict(square_input(photo, size)) for name, photo in photos}
    add_samples(folder, samples)
    return records, samples


def machine_id():
    """This machine (evaluation.environment.machine_id), the same for every variant and run setting."""
    from evaluation.environment import fingerprint, machine_id as of_env

    return of_env(fingerprint())


def has_evaluation(store, style, version, settings, machine):
    """Whether this machine already evaluated the version with these settings."""
    from registry.queries import evaluation_runs

    profile = keys.eval_profile(settings)
    return any(r.data.tags.get(keys.EVAL_PROFILE) == profile and r.data.tags.get(keys.MACHINE) == machine
               for r in evaluation_runs(store, style, version.version))


def download_version(store, style, version):
    from registry.aliasing import download_version as _download

    return _download(style, version, store)[0]
