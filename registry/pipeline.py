"""The build pipeline: catalogue -> compress -> export -> evaluate -> register, idempotent and resumable.

(Over 400 lines because the build's one sequence and the guards that make it safe to run twice, be
killed and run beside another writer read best in one place; the store, publishing, measuring and
artifacts already live in their own modules.)

For every style and catalogue entry:
1. skip it with a clear line when one of its methods is not registered yet, or when it needs the
   portrait photo set and this machine lacks it, or (quick builds) a student that is not shipped;
2. resolve its configs (the method's config class fills defaults) -> config hash; with the code
   version that is its identity;
3. a model version with that identity exists: evaluate it again only if this machine
   (`registry.machine`) has no finished evaluation with the same settings, else skip: running build
   twice adds nothing;
4. otherwise: compress (chains reuse their Keras prefix from this build's memory or from the registry:
   prune -> int8 exports the pruned model), write the variant folder, evaluate it against the
   original's outputs, and publish (build run + evaluation run, model version last; registry/publish.py).
A kill at any point leaves no version without its artifacts and metrics: the next build marks the
interrupted runs FAILED and redoes that entry. A failing entry is reported and the build goes on.

Several builds at once (the dashboard's first-run button and a terminal; teammates on one server):
- each build stages its files in its own folder (`<data>/staging/<host>-<pid>-<random>/`), removed
  at its end; folders of builds that died on this host are removed by the next build;
- an entry is built under a file lock (`<data>/locks/<store>/<style>-<entry>.lock`): a second build
  on this machine leaves an entry another build holds for later, builds the others, then waits for
  it (one line: whom it waits for) and finds it registered;
- builds on different machines do not share those locks: `publish` checks after creating a model
  version, and of two versions with one identity the lower number wins; the loser removes its own
  and reports the winner's (registry/publish.py).
"""

import contextlib
import io
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.environment import git_commit
from models.validation import require
from registry import keys, measure
from registry.locks import writer_alive
from registry.catalogue import DEFAULT_CATALOGUE, ORIGINAL, parent_name, select

QUICK_SAMPLES = ("face_crop.jpg", "half_body.jpg", "astronaut.png")  # bundled in models/samples
QUICK_GROUPS = ("static", "latency", "quality", "face_quality")
# Quick builds measure where the dashboard works (Compare's default working size) and include the face
# regions and face identity: a verdict from 256 px without faces ranked variants nobody serves (issue 15).
QUICK_SIZE = 512
FULL_GROUPS = ("static", "latency", "throughput", "memory", "quality", "face_quality")


@dataclass(frozen=True)
class BuildOptions:
    styles: tuple = ("anime",)
    only: tuple | None = None  # catalogue entry names
    quick: bool = False  # cheap configs + 3 samples at 512 px (with face regions) + 3 latency runs
    images: tuple | None = None  # photo paths to evaluate on (default: bundled samples)
    sizes: tuple | None = None  # square evaluation sizes (default: 512, quick and full)
    latency_runs: int | None = None  # timed runs per size (default: quick 3; full 10)
    threads: int | None = None  # LiteRT threads (default: all usable cores)

    def __post_init__(self):
        from models.weights import STYLES

        styles = (self.styles,) if isinstance(self.styles, str) else tuple(self.styles)
        object.__setattr__(self, "styles", styles)
        require(styles and all(s in STYLES for s in styles), "styles", styles,
                f"must name one or more of {STYLES}")
        if self.only is not None:
            object.__setattr__(self, "only", (self.only,) if isinstance(self.only, str) else tuple(self.only))
        if self.images is not None:
            images = tuple(str(p) for p in self.images)
            missing = [p for p in images if not Path(p).is_file()]
            require(images and not missing, "images", missing or images, "must be existing photo files")
            object.__setattr__(self, "images", images)
        if self.sizes is not None:
            object.__setattr__(self, "sizes", tuple(self.sizes))
            require(self.sizes and all(isinstance(s, int) and 32 <= s <= 4096 and s % 16 == 0
                                       for s in self.sizes),
                    "sizes", self.sizes, "must be ints in [32, 4096], multiples of 16")
        require(self.latency_runs is None or (isinstance(self.latency_runs, int) and self.latency_runs >= 1),
                "latency_runs", self.latency_runs, "must be an int >= 1")
        require(self.threads is None or (isinstance(self.threads, int) and self.threads >= 1),
                "threads", self.threads, "must be an int >= 1")

    @property
    def profile(self):
        return "quick" if self.quick else "full"

    def eval_settings(self):
        """What makes two evaluations "the same" (hashed into the eval.profile tag)."""
        from models.samples import SAMPLES_DIR, sample_names

        if self.images:
            images = list(self.images)
        else:
            names = QUICK_SAMPLES if self.quick else tuple(sample_names())
            images = [str(SAMPLES_DIR / n) for n in names]
        return {"images": [Path(p).name for p in images], "image_paths": images,
                "sizes": list(self.sizes or (QUICK_SIZE,)),
                "latency_runs": self.latency_runs or (3 if self.quick else 10),
                "threads": self.threads, "mode": "full",
                "groups": list(QUICK_GROUPS if self.quick else FULL_GROUPS),
                "batches": [1] if self.quick else [1, 4]}


@dataclass
class Built:
    """A compressed variant on disk, ready to publish."""

    style: str
    entry: str
    chain: list  # [(method, resolved config dict)]
    config_hash: str
    code_version: str
    profile: str
    folder: Path
    parent: str | None = None
    description: str = ""

    @property
    def variant(self):
        return f"{self.style}/{self.entry}"

    @property
    def method(self):
        return "+".join(m for m, _ in self.chain) or ORIGINAL

    def manifest(self):
        return {"variant": self.variant, "style": self.style, "entry": self.entry, "method": self.method,
                "parent": self.parent, "steps": [{"method": m, "config": c} for m, c in self.chain],
                "config_hash": self.config_hash, "code_version": self.code_version, "profile": self.profile}

    def tags(self):
        return {keys.VARIANT: self.variant, keys.STYLE: self.style, keys.ENTRY: self.entry,
                keys.CONFIG_HASH: self.config_hash, keys.CODE_VERSION: self.code_version,
                keys.GIT_COMMIT: git_commit(), keys.PROFILE: self.profile, keys.METHOD: self.method,
                keys.PARENT: self.parent or "",
                keys.CONFIG: keys.canonical_json([{"method": m, "config": c} for m, c in self.chain])[:5000]}


@dataclass
class Outcome:
    style: str
    entry: str
    status: str  # registered | evaluated | skipped | unavailable | failed
    message: str
    version: int | None = None
    seconds: float = 0.0


@dataclass
class _StyleState:
    """Per-style caches of one build: the original, its reference outputs, chain prefixes."""

    style: str
    code: str = ""
    machine: str = ""
    original: object = None
    staging: Path | None = None  # this build's private folder
    prefixes: dict = field(default_factory=dict)  # config hash of a Keras chain prefix -> KerasVariant


def resolve_chain(chain):
    """[(method, dict)] -> [(method, full config dict)] via each method's config class (validates)."""
    from models.compression import get_method
    from models.compression.base import config_dict, config_from, path_fields

    resolved = []
    for method, config in chain:
        cls = get_method(method).config_class
        try:
            instance = config_from(cls, config)
        except TypeError as exc:
            raise ValueError(f"catalogue config {config} does not fit {method}'s {cls.__name__}: {exc}") from None
        full, paths = config_dict(instance), path_fields(cls)
        resolved.append((method, {k: v for k, v in full.items() if not (k in paths and v is None)}))
    return resolved


def _compress(store, state, built, workdir):
    """Run the chain -> (keras model | None, tflite path | None, report).

    A Keras prefix of the chain (the pruned model of prune -> int8) is reused from this build's
    memory, else from the registry when it is a registered version of the same code: a build resumed
    after a kill does not redo a fine-tune it has already registered."""
    from models.compression import get_method
    from models.compression.base import config_from
    from models.variant import KerasVariant

    source, report = state.original, None
    for i, (method_name, config) in enumerate(built.chain):
        prefix_key = keys.config_hash(built.style, built.chain[:i + 1])
        if prefix_key not in state.prefixes and i < len(built.chain) - 1:
            registered = measure.registered_keras(store, built.style, prefix_key, state.code)
            if registered is not None:
                state.prefixes[prefix_key] = registered
        if prefix_key in state.prefixes:
            source = state.prefixes[prefix_key]
            continue
        method = get_method(method_name)
        kwargs = dict(config)
        if method.artifact == "tflite":  # a file method writes where the pipeline says
            kwargs["output_path"] = str(Path(workdir) / f"step{i}_{method_name}.tflite")
        result = method.apply(source, config_from(method.config_class, kwargs))
        report = result.report
        if result.artifact is not None:
            require(i == len(built.chain) - 1, "chain", [m for m, _ in built.chain],
                    f"can only end with a file-producing method; {method_name} is step {i}")
            return None, Path(result.artifact), report
        source = KerasVariant(result.variant.model, result.variant.architecture,
                              name=f"{built.style}/{built.entry}")
        state.prefixes[prefix_key] = source
    return source.model, None, report


QUICK_FINETUNE_STEPS = 100  # a quick build runs recovery fine-tunes up to this long itself


def _needs_training(state, chain):
    """Why a quick build cannot make this chain without hours of training (None when it can).

    Distillation loads a shipped student when one of that spec was trained from this very original
    (same weights fingerprint), and a long recovery fine-tune loads shipped recovered weights trained
    with exactly its config; otherwise either would train for hours."""
    from models.compression import get_method
    from models.compression.finetune import shipped_recovery
    from models.students import shipped_students, student_metadata
    from models.training_data import model_fingerprint

    for method, config in chain:
        if config.get("finetune_steps", 0) > QUICK_FINETUNE_STEPS:
            original = measure.ensure_original(state).model
            if shipped_recovery(get_method(method).config_class(**config), original) is None:
                return (f"{method} asks for a {config['finetune_steps']}-step recovery and no shipped "
                        "recovered weights (models/weights/recovered/) match its config; a full build or "
                        "`python -m models distill --from-method ...` trains it")
        if method != "distill" or config.get("use_shipped") is False:
            continue
        spec = get_method(method).config_class(**config).spec
        if spec.name not in shipped_students():
            return (f"no shipped {spec.name} student (models/weights/students/); a full build or "
                    f"`python -m models distill` trains one")
        meta = student_metadata(spec.name)
        teacher = meta.get("teacher", {}).get("fingerprint")
        if teacher != model_fingerprint(measure.ensure_original(state).model):
            return f"the shipped {spec.name} student was trained from another {state.style} teacher ({teacher})"
    return None


def _needs_photos(chain):
    """Why this chain cannot run here for lack of the portrait photo set (None when it can).

    Each method says which photos a config needs (`photos`, declared beside its config): calibration
    reads models.export.PORTRAITS_DIR (models.samples.photo_dir()); training reads the config's data_dir
    or models.training.DEFAULT_DATA. A fresh clone has neither: say so instead of failing."""
    from models.compression import METHODS

    for method, config in chain:
        needs = METHODS[method].photos(config) if method in METHODS else None
        if needs == "calibration":
            from models.export import PORTRAITS_DIR

            if not (PORTRAITS_DIR / "MANIFEST.csv").is_file():
                return (f"{method} calibrates on real portraits and {PORTRAITS_DIR}/MANIFEST.csv is missing "
                        "(set DCTNET_PORTRAITS to a portrait folder with a MANIFEST.csv)")
        if needs == "training":
            from models.training import DEFAULT_DATA

            data = Path(config.get("data_dir") or DEFAULT_DATA)
            if not data.is_dir():
                return f"{method} needs the portrait photos for training and {data} is missing"
    return None


def build(options=None, store=None, progress=None, catalogue=DEFAULT_CATALOGUE, log=print, **kwargs):
    """Build the catalogue into the registry; returns a list of Outcome (one per style x entry).

    `progress(step, total, message)` is called as work advances (the dashboard draws it; the CLI
    feeds a tqdm bar). `kwargs` are BuildOptions fields when `options` is not given."""
    from registry.store import get_store

    options = options or BuildOptions(**kwargs)
    store = get_store(store)
    entries = select(catalogue, options.only)
    total = len(entries) * len(options.styles)
    progress = progress or (lambda step, total, message: None)
    outcomes = []
    code = keys.code_version()  # once per build: entries of one build share one code version
    machine = measure.machine_id()
    staging = _private_staging(store)
    try:
        for style in options.styles:
            state = _StyleState(style, code=code, machine=machine, staging=staging)
            deferred = []
            for entry in entries:
                lock = _entry_lock(store, style, entry)
                parent = parent_name(entry, catalogue)  # a chain reuses its parent's model: wait for it too
                if parent != ORIGINAL and parent in {e.name for e, _ in deferred}:
                    log(f"{style}/{entry.name}: after {style}/{parent}, which another build is making")
                    deferred.append((entry, lock))
                elif not lock.try_acquire():
                    log(f"{style}/{entry.name}: {lock.holder()} is building it; coming back to it after the others")
                    deferred.append((entry, lock))
                else:
                    outcomes.append(_run_entry(store, options, state, entry, catalogue, lock, len(outcomes),
                                               total, progress, log))
            for entry, lock in deferred:
                lock.acquire(log, f"to finish {style}/{entry.name}")
                outcomes.append(_run_entry(store, options, state, entry, catalogue, lock, len(outcomes), total,
                                           progress, log))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outcomes


def _private_staging(store):
    """This build's own staging folder; folders of builds that died on this host are removed first."""
    import os
    import socket
    import uuid

    from registry.locks import pid_alive

    root = store.data / "staging"
    host = socket.gethostname()
    if root.is_dir():
        for old in root.iterdir():
            parts = old.name.rsplit("-", 2)
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not pid_alive(parts[1]):
                shutil.rmtree(old, ignore_errors=True)
    folder = root / f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def _entry_lock(store, style, entry):
    from registry.locks import FileLock

    return FileLock(store.data / "locks" / keys.short_hash(store.uri, 8) / f"{style}-{entry.name}.lock")


def _run_entry(store, options, state, entry, catalogue, lock, step, total, progress, log):
    """One entry under its lock -> Outcome (a failure is an outcome, never an exception)."""
    style = state.style
    progress(step, total, f"{style}/{entry.name}")
    start = time.perf_counter()
    try:
        outcome = _build_entry(store, options, state, entry, catalogue,
                               lambda msg: progress(step, total, f"{style}/{entry.name}: {msg}"))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one bad entry must not stop the others
        trouble = store_trouble(exc)
        detail = "" if trouble else "\n" + traceback.format_exc(limit=-3)
        outcome = Outcome(style, entry.name, "failed", (trouble or f"{type(exc).__name__}: {exc}") + detail)
    finally:
        lock.release()
    outcome.seconds = time.perf_counter() - start
    first = outcome.message.splitlines()[0] if outcome.message else ""
    log(f"{style}/{entry.name}: {outcome.status}"
        + (f" as version {outcome.version}" if outcome.version else "")
        + f" ({first}; {outcome.seconds:.0f} s)")
    progress(step + 1, total, f"{style}/{entry.name}: {outcome.status}")
    return outcome


def store_trouble(exc):
    """One line for a store that is busy or unreachable (no traceback: nothing in our code is wrong)."""
    kind = type(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else kind.__name__
    if kind.__module__.startswith("sqlalchemy") and "locked" in str(exc):
        return f"the store stayed busy (database is locked) for too long: {text}; run the build again"
    if kind.__module__.startswith(("requests", "urllib3")) or "API request to" in str(exc):
        return f"the tracking server did not answer: {text}"
    return None


def _build_entry(store, options, state, entry, catalogue, say):
    from models.compression import METHODS

    from registry.publish import fail_stale_runs, log_evaluation
    from registry.queries import find_version

    style = state.style
    missing = [m for m in entry.methods if m not in METHODS]
    if missing:
        return Outcome(style, entry.name, "unavailable",
                       f"not available yet: method(s) {', '.join(missing)} not in models.compression.METHODS")
    if options.quick and not entry.in_quick:
        return Outcome(style, entry.name, "unavailable", "not in a quick build: a full-build entry")
    reason = _needs_photos(entry.chain(options.quick))
    if reason:
        return Outcome(style, entry.name, "unavailable", f"not on this machine: {reason}")
    chain = resolve_chain(entry.chain(options.quick))
    parent = parent_name(entry, catalogue)
    built = Built(style, entry.name, chain, keys.config_hash(style, chain), state.code,
                  options.profile if entry.quick and options.quick else "full",
                  folder=state.staging / style / keys.config_hash(style, chain) / "variant",
                  parent=f"{style}/{parent}" if parent else None, description=entry.description)
    settings = options.eval_settings()
    existing = find_version(store, style, built.config_hash, built.code_version)
    if existing is not None:
        run = store.client.get_run(existing.run_id)
        if run.info.status == "RUNNING" and not writer_alive(run.data.tags.get(keys.WRITER, "")):
            # killed after the version was created: the version is complete, close its build run
            store.client.set_terminated(existing.run_id, "FINISHED")
        if measure.has_evaluation(store, style, existing, settings, state.machine):
            return Outcome(style, entry.name, "skipped", f"already registered as version {existing.version} "
                           f"and evaluated on this machine ({state.machine})", int(existing.version))
        say("evaluating the registered version on this machine")
        folder = measure.download_version(store, style, existing.version)
        records, _ = measure.evaluate(store, state, built, folder, settings)
        log_evaluation(store, style, existing.run_id, built.variant, records, settings,
                       version=existing.version, model_id=getattr(existing, "model_id", None),
                       config_hash=built.config_hash, machine=state.machine)
        return Outcome(style, entry.name, "evaluated", f"version {existing.version} evaluated here",
                       int(existing.version))
    if options.quick:
        reason = _needs_training(state, chain)
        if reason:
            return Outcome(style, entry.name, "unavailable", f"not in a quick build: {reason}")

    stale = fail_stale_runs(store, style, built.config_hash)
    if stale:
        say(f"marked {len(stale)} interrupted run(s) FAILED")
    work = state.staging / style / f"{built.config_hash}.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        say("compressing" if chain else "loading the original")
        measure.ensure_original(state)
        with contextlib.redirect_stdout(io.StringIO()):  # the TFLite converter prints its graph signature
            model, tflite, report = _compress(store, state, built, work)
        arch = state.prefixes.get(built.config_hash)
        folder = measure.write_variant(built, model, tflite, report, arch.architecture if arch else None)
        say("evaluating")
        records, _ = measure.evaluate(store, state, built, folder, settings)
        say("registering")
        from registry.publish import publish

        meanwhile = find_version(store, style, built.config_hash, built.code_version)
        if meanwhile is not None:  # another machine's build registered it while this one compressed
            return Outcome(style, entry.name, "skipped", f"registered meanwhile by another build as version "
                           f"{meanwhile.version}", int(meanwhile.version))
        version, removed = publish(store, built, records, settings, machine=state.machine)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(built.folder.parent, ignore_errors=True)  # the registry holds it now
    if removed is not None:
        return Outcome(style, entry.name, "skipped", f"registered at the same moment by another build as version "
                       f"{version.version}; this build's version {removed} was removed", int(version.version))
    return Outcome(style, entry.name, "registered", f"{built.method}, config {built.config_hash}",
                   int(version.version))
