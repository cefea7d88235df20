"""Sessions and takes on disk: layout, ``session.toml``/``take.toml``, timestamps, provenance.

Entry points: :class:`mocap.session.store.Session` (create/open, calibration, takes),
:class:`mocap.session.store.Take` (cameras, videos, timestamps, recovery),
:func:`mocap.session.importing.import_videos`, and :mod:`mocap.session.provenance` for the
manifests of derived files.
"""
