"""Session records: schema, migrations, queries, the background writer and its journal (no Qt).

- :mod:`~console.storage.engine`: ``make_engine(url)`` (SQLite in WAL mode, or PostgreSQL).
- :mod:`~console.storage.migrate`: ``upgrade_to_head(engine)``, run at every start; refuses a
  database newer than the console (``DatabaseTooNewError``).
- :mod:`~console.storage.schema`: the tables at the newest revision.
- :mod:`~console.storage.repository`: ``SessionRepository`` (sessions, patients, resume,
  review loads as numpy arrays).
- :mod:`~console.storage.writer`: ``StorageWriter``, the batching writer thread (supervised
  loop, row isolation); :mod:`~console.storage.items`: what it is given, and the rows.
- :mod:`~console.storage.journal`: the fsync'd local spool used while the database is away.
- :mod:`~console.storage.held`: per-chair spools of data that have no record yet.
- :mod:`~console.storage.validate`: rows checked before the insert.
- :mod:`~console.storage.file_watch`: a SQLite file deleted or replaced in use is put back.
- :mod:`~console.storage.private`: 0600 files and 0700 directories for patient data.
"""
