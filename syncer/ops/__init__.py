"""The operations room: the scheduler, metrics, status, run history and ``explain``.

Each module returns data (dicts, reports); the CLI formats them. They read the store through its door
(:class:`syncer.store.Store`) and never print.
"""
