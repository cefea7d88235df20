"""Writers of 3D motion behind one :class:`~mocap.export.base.Exporter` protocol.

Formats: ``bvh`` and ``fbx`` (solved skeletons), ``trc``, ``c3d`` and ``csv`` (marker positions),
``npz`` (solved skeletons as plain arrays). ``export_poses(poses, path, format)`` picks the writer.
"""

from mocap.export.base import Exporter, ExportOptions, export_poses, exporter_names, get_exporter, register_exporter

__all__ = ["ExportOptions", "Exporter", "export_poses", "exporter_names", "get_exporter", "register_exporter"]
