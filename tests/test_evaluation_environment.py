"""The environment fingerprint: what it holds, and what its env_id depends on."""

import re

from evaluation.environment import compute_env_id, fingerprint, git_commit


def test_fingerprint_names_the_machine_and_the_stack():
    env = fingerprint(threads=2, delegate="xnnpack", backend="tensorflow")
    for key in ("cpu", "cores", "threads", "gpu", "os", "python", "packages", "keras_backend", "delegate",
                "git_commit", "env_id"):
        assert key in env, key
    assert env["packages"]["keras"] == "3.13.2"
    assert re.fullmatch(r"[0-9a-f]{8}", env["env_id"])


def test_env_id_follows_the_machine_and_stack_but_not_the_code_version_or_variant_settings():
    a = fingerprint(threads=2, delegate="xnnpack", backend="tensorflow")
    b = fingerprint(threads=2, delegate="xnnpack", backend="tensorflow")
    assert a["env_id"] == b["env_id"]
    # a Keras and a LiteRT variant measured side by side on one machine stay comparable
    assert fingerprint(threads=1, delegate=None, backend="tensorflow")["env_id"] == a["env_id"]
    assert fingerprint(threads=2, delegate="xnnpack", backend="jax")["env_id"] != a["env_id"]
    assert compute_env_id(dict(a, packages={**a["packages"], "keras": "3.14.0"})) != a["env_id"]
    assert compute_env_id(dict(a, git_commit="something-else")) == a["env_id"]
    assert compute_env_id(dict(a, cpu="another cpu")) != a["env_id"]


def test_git_commit_is_a_hash_or_unknown(tmp_path):
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", git_commit())
    assert git_commit(tmp_path) == "unknown"
