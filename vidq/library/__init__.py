"""The library: the timelines of many files in one embedded store, searchable across files.

    lib = Library(default_library_dir())                     # or --library DIR / VIDQ_LIBRARY
    Indexer(lib, IndexOptions(), runner=make_runner(jobs=2)).run(["/recordings"])
    result = search(lib, "ad for soda")                      # a FindResult; each hit names its file

Modules:

    schema.py    the SQLite database (WAL, FTS5), its schema version and migrations
    vectors.py   the unit vectors: one append-only memory-mapped array, exact search
    library.py   Library: add a timeline, see a path, record a failure, ls/stats/rm/prune/verify
    index.py     index runs: discover, settle, identify by content, analyse, write (Indexer)
    runners.py   where analysis runs: this process, worker processes (-j N), Ray tasks
    watch.py     watch folders: passes on inotify events (polling elsewhere), stop on a signal
    search.py    find across the library with the single-file find's intents and scores

Sits above analysis and tasks (it reuses the find job's intent parsing and scoring);
knows nothing about the CLI.
"""

from vidq.library.index import DEFAULT_SETTLE, IndexOptions, Indexer, Summary, discover
from vidq.library.library import FileRecord, Library, default_library_dir, timelines_dir
from vidq.library.runners import default_jobs, make_runner
from vidq.library.search import search

__all__ = ["DEFAULT_SETTLE", "FileRecord", "IndexOptions", "Indexer", "Library", "Summary", "default_jobs",
           "default_library_dir", "discover", "make_runner", "search", "timelines_dir"]
