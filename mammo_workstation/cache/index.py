"""SQLite index of the local DICOM cache: patient, study, series and instance tables.

The index contains what the local study browser filters on and what the hanging protocols need
(laterality, view, presentation intent), so neither has to open a file. Paths are stored
relative to the cache root, so a cache folder can be moved as a whole.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS patient (
    patient_key TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    issuer_of_patient_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS study (
    study_uid TEXT PRIMARY KEY,
    patient_key TEXT NOT NULL REFERENCES patient(patient_key),
    study_date TEXT NOT NULL DEFAULT '',
    study_time TEXT NOT NULL DEFAULT '',
    accession_number TEXT NOT NULL DEFAULT '',
    study_id TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    referring_physician TEXT NOT NULL DEFAULT '',
    source_ae_title TEXT NOT NULL DEFAULT '',
    -- Number of instances the PACS reported for the study, 0 when unknown.
    expected_instances INTEGER NOT NULL DEFAULT 0,
    -- Unix time in seconds; drives least-recently-used eviction.
    last_access REAL NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS study_patient ON study(patient_key);
CREATE INDEX IF NOT EXISTS study_access ON study(last_access);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL REFERENCES study(study_uid) ON DELETE CASCADE,
    modality TEXT NOT NULL DEFAULT '',
    series_number INTEGER,
    description TEXT NOT NULL DEFAULT '',
    body_part TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS series_study ON series(study_uid);
CREATE TABLE IF NOT EXISTS instance (
    sop_instance_uid TEXT PRIMARY KEY,
    series_uid TEXT NOT NULL REFERENCES series(series_uid) ON DELETE CASCADE,
    study_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    instance_number INTEGER,
    rows INTEGER NOT NULL DEFAULT 0,
    columns INTEGER NOT NULL DEFAULT 0,
    number_of_frames INTEGER NOT NULL DEFAULT 1,
    laterality TEXT NOT NULL DEFAULT '',
    view TEXT NOT NULL DEFAULT '',
    presentation_intent TEXT NOT NULL DEFAULT '',
    relative_path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS instance_study ON instance(study_uid);
CREATE INDEX IF NOT EXISTS instance_series ON instance(series_uid);
"""


@dataclass
class InstanceRecord:
    """The attributes of one cached instance that the index stores."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    study_uid: str
    series_uid: str
    patient_id: str
    relative_path: str
    size_bytes: int
    issuer_of_patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_id: str = ""
    study_description: str = ""
    referring_physician: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    instance_number: int | None = None
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    laterality: str = ""
    view: str = ""
    presentation_intent: str = ""

    @property
    def patient_key(self) -> str:
        """Patient ID qualified by its issuer, as PS3.3 C.7.1.1 requires for uniqueness."""
        return f"{self.patient_id}\\{self.issuer_of_patient_id}"


@dataclass
class StudyRow:
    """One study of the cache as the local study browser shows it."""

    study_uid: str
    patient_id: str
    patient_name: str
    birth_date: str
    study_date: str
    study_time: str
    accession_number: str
    description: str
    modalities: list[str]
    number_of_series: int
    number_of_instances: int
    expected_instances: int
    size_bytes: int
    last_access: float
    pinned: bool
    source_ae_title: str

    @property
    def date(self) -> dt.date | None:
        try:
            return dt.datetime.strptime(self.study_date[:8], "%Y%m%d").date()
        except ValueError:
            return None

    @property
    def complete(self) -> bool:
        """False when the PACS reported more instances than the cache contains."""
        return self.expected_instances <= self.number_of_instances


@dataclass
class StudyFilter:
    """Filters of the local study browser; empty values match everything.

    ``patient_name`` accepts the DICOM wildcards ``*`` and ``?`` (PS3.4 C.2.2.2.4) and matches
    case-insensitively, like most PACS do for names.
    """

    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modalities: list[str] = field(default_factory=list)
    study_uid: str = ""


def _wildcard_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class CacheIndex:
    """The SQLite database of one cache folder.

    One connection per thread: the Storage SCP writes from pynetdicom's threads while the GUI
    reads, and SQLite's WAL mode lets readers go on during a write.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        database.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(database, timeout=30.0)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
        finally:
            connection.close()

    @contextmanager
    def connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """Open a connection; the block runs as one transaction, committed on success.

        A write transaction takes the write lock at once, so two writers never deadlock
        upgrading read locks; a read transaction (``write=False``) sees one snapshot.
        """
        connection = sqlite3.connect(self.database, timeout=30.0, isolation_level=None)
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL never corrupts the database; a power cut may lose the last
            # commits, which a retrieve then fetches again. FULL costs an fsync per commit.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    # Writing

    @staticmethod
    def insert(connection: sqlite3.Connection, records: Iterable[InstanceRecord],
               source_ae_title: str = "", expected_instances: int = 0) -> None:
        """Insert instances with their patient, study and series rows inside a transaction."""
        now = time.time()
        for record in records:
            connection.execute(
                "INSERT INTO patient VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(patient_key) DO UPDATE "
                "SET patient_name = excluded.patient_name WHERE excluded.patient_name != ''",
                (record.patient_key, record.patient_id, record.issuer_of_patient_id,
                 record.patient_name, record.birth_date, record.sex),
            )
            connection.execute(
                "INSERT INTO study (study_uid, patient_key, study_date, study_time, "
                "accession_number, study_id, description, referring_physician, "
                "source_ae_title, expected_instances, last_access) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(study_uid) DO UPDATE SET "
                "last_access = excluded.last_access, "
                "expected_instances = max(expected_instances, excluded.expected_instances)",
                (record.study_uid, record.patient_key, record.study_date, record.study_time,
                 record.accession_number, record.study_id, record.study_description,
                 record.referring_physician, source_ae_title, expected_instances, now),
            )
            connection.execute(
                "INSERT OR IGNORE INTO series VALUES (?, ?, ?, ?, ?, ?)",
                (record.series_uid, record.study_uid, record.modality, record.series_number,
                 record.series_description, record.body_part),
            )
            connection.execute(
                "INSERT OR IGNORE INTO instance VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.sop_instance_uid, record.series_uid, record.study_uid,
                 record.sop_class_uid, record.transfer_syntax_uid, record.instance_number,
                 record.rows, record.columns, record.number_of_frames, record.laterality,
                 record.view, record.presentation_intent, record.relative_path,
                 record.size_bytes),
            )

    @staticmethod
    def set_expected_instances(connection: sqlite3.Connection, study_uid: str,
                               expected: int) -> None:
        connection.execute(
            "UPDATE study SET expected_instances = ? WHERE study_uid = ?", (expected, study_uid)
        )

    @staticmethod
    def delete_study(connection: sqlite3.Connection, study_uid: str) -> list[str]:
        """Delete a study's rows and return the relative paths of its files."""
        paths = [row[0] for row in connection.execute(
            "SELECT relative_path FROM instance WHERE study_uid = ?", (study_uid,))]
        connection.execute("DELETE FROM instance WHERE study_uid = ?", (study_uid,))
        connection.execute("DELETE FROM series WHERE study_uid = ?", (study_uid,))
        connection.execute("DELETE FROM study WHERE study_uid = ?", (study_uid,))
        connection.execute(
            "DELETE FROM patient WHERE patient_key NOT IN (SELECT patient_key FROM study)"
        )
        return paths

    def touch(self, study_uid: str) -> None:
        """Record an access for least-recently-used eviction."""
        with self.connect() as connection:
            connection.execute(
                "UPDATE study SET last_access = ? WHERE study_uid = ?", (time.time(), study_uid)
            )

    def set_pinned(self, study_uid: str, pinned: bool) -> None:
        with self.connect() as connection:
            connection.execute(
                "UPDATE study SET pinned = ? WHERE study_uid = ?", (int(pinned), study_uid)
            )

    # Reading

    def existing_instances(self, sop_instance_uids: Iterable[str]) -> set[str]:
        uids = list(sop_instance_uids)
        found: set[str] = set()
        with self.connect(write=False) as connection:
            for start in range(0, len(uids), 500):
                chunk = uids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(row[0] for row in connection.execute(
                    f"SELECT sop_instance_uid FROM instance WHERE sop_instance_uid IN ({marks})",
                    chunk))
        return found

    def has_instance(self, sop_instance_uid: str) -> bool:
        return bool(self.existing_instances([sop_instance_uid]))

    def instance_paths(self, study_uid: str) -> list[str]:
        """Relative paths of a study's files, ordered by series and instance number."""
        with self.connect(write=False) as connection:
            return [row[0] for row in connection.execute(
                "SELECT i.relative_path FROM instance i JOIN series s USING (series_uid) "
                "WHERE i.study_uid = ? ORDER BY s.series_number, i.instance_number, "
                "i.sop_instance_uid", (study_uid,))]

    def instances(self, study_uid: str) -> list[sqlite3.Row]:
        with self.connect(write=False) as connection:
            connection.row_factory = sqlite3.Row
            return list(connection.execute(
                "SELECT * FROM instance WHERE study_uid = ? ORDER BY instance_number",
                (study_uid,)))

    def study_sizes(self) -> list[tuple[str, int, float, bool]]:
        """(study UID, bytes, last access, pinned) for every study, least recent first."""
        with self.connect(write=False) as connection:
            return [
                (row[0], int(row[1] or 0), float(row[2]), bool(row[3]))
                for row in connection.execute(
                    "SELECT s.study_uid, (SELECT sum(size_bytes) FROM instance i "
                    "WHERE i.study_uid = s.study_uid), s.last_access, s.pinned "
                    "FROM study s ORDER BY s.last_access")
            ]

    def total_size(self) -> int:
        with self.connect(write=False) as connection:
            return int(connection.execute(
                "SELECT coalesce(sum(size_bytes), 0) FROM instance").fetchone()[0])

    def studies(self, study_filter: StudyFilter | None = None) -> list[StudyRow]:
        """Studies matching ``study_filter``, newest study date first."""
        where, values = _where_clause(study_filter or StudyFilter())
        query = (
            "SELECT s.study_uid, p.patient_id, p.patient_name, p.birth_date, s.study_date, "
            "s.study_time, s.accession_number, s.description, "
            "(SELECT group_concat(DISTINCT modality) FROM series r "
            " WHERE r.study_uid = s.study_uid), "
            "(SELECT count(*) FROM series r WHERE r.study_uid = s.study_uid), "
            "(SELECT count(*) FROM instance i WHERE i.study_uid = s.study_uid), "
            "s.expected_instances, "
            "(SELECT coalesce(sum(size_bytes), 0) FROM instance i "
            " WHERE i.study_uid = s.study_uid), "
            "s.last_access, s.pinned, s.source_ae_title "
            "FROM study s JOIN patient p USING (patient_key) "
            f"{where} ORDER BY s.study_date DESC, s.study_time DESC"
        )
        with self.connect(write=False) as connection:
            rows = connection.execute(query, values).fetchall()
        return [
            StudyRow(
                study_uid=row[0], patient_id=row[1], patient_name=row[2], birth_date=row[3],
                study_date=row[4], study_time=row[5], accession_number=row[6],
                description=row[7], modalities=sorted(filter(None, (row[8] or "").split(","))),
                number_of_series=row[9], number_of_instances=row[10],
                expected_instances=row[11], size_bytes=row[12], last_access=row[13],
                pinned=bool(row[14]), source_ae_title=row[15],
            )
            for row in rows
        ]


def _where_clause(study_filter: StudyFilter) -> tuple[str, list[object]]:
    clauses: list[str] = []
    values: list[object] = []
    if study_filter.patient_name:
        clauses.append("p.patient_name LIKE ? ESCAPE '\\'")
        values.append(_wildcard_to_like(study_filter.patient_name))
    if study_filter.patient_id:
        clauses.append("p.patient_id LIKE ? ESCAPE '\\'")
        values.append(_wildcard_to_like(study_filter.patient_id))
    if study_filter.accession_number:
        clauses.append("s.accession_number LIKE ? ESCAPE '\\'")
        values.append(_wildcard_to_like(study_filter.accession_number))
    if study_filter.study_uid:
        clauses.append("s.study_uid = ?")
        values.append(study_filter.study_uid)
    if study_filter.date_from:
        clauses.append("s.study_date >= ?")
        values.append(study_filter.date_from.strftime("%Y%m%d"))
    if study_filter.date_to:
        clauses.append("s.study_date != '' AND s.study_date <= ?")
        values.append(study_filter.date_to.strftime("%Y%m%d"))
    if study_filter.modalities:
        marks = ",".join("?" * len(study_filter.modalities))
        clauses.append(
            f"EXISTS (SELECT 1 FROM series r WHERE r.study_uid = s.study_uid "
            f"AND r.modality IN ({marks}))"
        )
        values.extend(study_filter.modalities)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", values
