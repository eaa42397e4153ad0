"""Where blind-rating votes live: they follow the registry, so one team has one Elo / MOS.

- Embedded store (a laptop): `<lab data>/votes.sqlite` beside `mlflow.db` (`LocalVotes`); SQLite
  serialises concurrent writers, so several browser sessions can vote at once.
- Tracking server (a team): one MLflow run per vote in the experiment `dctnet-votes` (`ServerVotes`), its
  fields as `vote.*` tags; the server serialises writers, every teammate's dashboard reads the same rows.
  MLflow has no other place for a judgement that compares two versions on one photo (a run of a model
  version belongs to one version), and a run per vote is atomic: no read-modify-write of a shared table.

A vote names its two versions as "v<version> <entry>" of the store it was cast against. Every vote has an
id (a hash of its fields), so `push_local` uploads a machine's local votes to the team's server once:
versions are matched by what they are (config hash + code version), votes already there are skipped, and
votes whose versions the server lacks stay local, named in the report.
"""

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from decisions.votes import OUTCOMES
from registry import keys

EXPERIMENT = "dctnet-votes"
FIELDS = ("style", "photo", "left", "right", "outcome", "voter", "created")
TAG = "vote."  # vote.style, vote.photo, ..., vote.id
PAGE = 1000
LOCAL_FILE = "votes.sqlite"  # beside the embedded store's mlflow.db

SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    style TEXT NOT NULL,
    photo TEXT NOT NULL,
    left_variant TEXT NOT NULL,
    right_variant TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('left', 'right', 'tie')),
    voter TEXT,
    created REAL NOT NULL
)
"""


def check_vote(left, right, outcome):
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}. Received: outcome={outcome!r}")
    if not left or not right or left == right:
        raise ValueError(f"a vote compares two different variants. Received: left={left!r}, right={right!r}")


def vote_id(vote):
    """A vote's identity: the same vote pushed twice is recognised (created is kept to the microsecond)."""
    return keys.short_hash({k: (round(vote[k], 6) if k == "created" else vote[k]) for k in FIELDS})


class LocalVotes:
    """Votes in one SQLite file (created on first use)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(SCHEMA)

    def describe(self):
        return f"{self.path} (this machine)"

    def _connect(self):
        return sqlite3.connect(self.path, timeout=30)

    def add(self, style, photo, left, right, outcome, voter=None, created=None):
        check_vote(left, right, outcome)
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO votes (style, photo, left_variant, right_variant, outcome, voter, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (style, photo, left, right, outcome, voter, time.time() if created is None else created))

    def votes(self, style=None):
        query = "SELECT style, photo, left_variant, right_variant, outcome, voter, created FROM votes"
        args = ()
        if style is not None:
            query, args = query + " WHERE style = ?", (style,)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [dict(zip(FIELDS, row)) for row in rows]


class ServerVotes:
    """Votes as runs of the `dctnet-votes` experiment on a tracking server (or a database store)."""

    def __init__(self, store):
        self.store = store

    def describe(self):
        return f"the tracking server {self.store.uri} (experiment {EXPERIMENT}, shared by the team)"

    def _experiment_id(self, create):
        return self.store.named_experiment(EXPERIMENT, {"registry.kind": "votes"}, create=create)

    def add(self, style, photo, left, right, outcome, voter=None, created=None):
        check_vote(left, right, outcome)
        vote = {"style": style, "photo": photo, "left": left, "right": right, "outcome": outcome,
                "voter": voter, "created": time.time() if created is None else float(created)}
        self._write(vote)

    def _write(self, vote):
        client = self.store.client
        tags = {TAG + k: str(vote[k]) for k in FIELDS if vote[k] is not None}
        tags[TAG + "id"] = vote_id(vote)
        tags["mlflow.runName"] = f"vote {vote['style']} {vote['left']} vs {vote['right']}"
        run = client.create_run(self._experiment_id(create=True), start_time=int(vote["created"] * 1000), tags=tags)
        client.set_terminated(run.info.run_id, "FINISHED")

    def _runs(self, style=None):
        exp = self._experiment_id(create=False)
        if exp is None:
            return []
        query = f"tags.`{TAG}style` = '{style}'" if style is not None else ""
        runs, token = [], None
        while True:
            page = self.store.client.search_runs([exp], filter_string=query, max_results=PAGE, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def votes(self, style=None):
        rows = []
        for run in self._runs(style):
            t = run.data.tags
            if not all(TAG + k in t for k in ("style", "photo", "left", "right", "outcome", "created")):
                continue  # not a vote (someone's run in the experiment)
            rows.append({"style": t[TAG + "style"], "photo": t[TAG + "photo"], "left": t[TAG + "left"],
                         "right": t[TAG + "right"], "outcome": t[TAG + "outcome"], "voter": t.get(TAG + "voter"),
                         "created": float(t[TAG + "created"]), "id": t.get(TAG + "id")})
        rows.sort(key=lambda v: (v["created"], v["id"] or ""))  # vote order: Elo replays it
        return rows


def open_votes(store):
    """The votes of this store's team: local SQLite for the embedded store, the server's runs otherwise."""
    return LocalVotes(Path(store.data) / LOCAL_FILE) if store.embedded else ServerVotes(store)


def _identities(store):
    """{"v<version> <entry>": (style, config hash, code version)} of a store's versions."""
    from registry.queries import versions

    table = versions(None, store)
    return {(r.style, f"v{int(r.version)} {r.entry}"): (r.style, r.config_hash, r.code_version)
            for r in table.itertuples()}


def push_local(local_data, server_store, say=print):
    """Upload the votes of a machine's lab-data folder (votes.sqlite, naming versions of its mlflow.db) to a
    server, once. Returns (pushed, already there, kept local); versions the server lacks are named via `say`."""
    from registry.store import EMBEDDED_DB, Store, embedded_uri

    local_data = Path(local_data)
    if server_store.embedded:
        raise ValueError("votes push copies this machine's votes to a team's tracking server: give "
                         "--tracking-uri URI (or MLFLOW_TRACKING_URI)")
    if not (local_data / LOCAL_FILE).is_file():
        return 0, 0, 0
    if not (local_data / EMBEDDED_DB).is_file():
        raise ValueError(f"{local_data} has votes but no {EMBEDDED_DB}: the registry whose versions they name "
                         "is gone, so they cannot be matched to the server's versions")
    rows = LocalVotes(local_data / LOCAL_FILE).votes()
    local_store = Store(uri=embedded_uri(local_data), data=local_data)  # that folder's, whatever the env says
    server = ServerVotes(server_store)
    mine = _identities(local_store)
    theirs = {identity: label for (style, label), identity in _identities(server_store).items()}
    present = {v["id"] for v in server.votes()}
    pushed = already = kept = 0
    missing = set()
    for vote in rows:
        mapped = {}
        for side in ("left", "right"):
            identity = mine.get((vote["style"], vote[side]))
            mapped[side] = theirs.get(identity) if identity else None
            if mapped[side] is None:
                missing.add(f"{vote['style']} {vote[side]}")
        if None in mapped.values():
            kept += 1
            continue
        moved = {**vote, **mapped}
        if vote_id(moved) in present:
            already += 1
            continue
        server._write(moved)
        present.add(vote_id(moved))
        pushed += 1
    for name in sorted(missing):
        say(f"kept local: {name} is not on {server_store.uri} (no version with its config hash and code "
            "version; build it there first)")
    return pushed, already, kept
