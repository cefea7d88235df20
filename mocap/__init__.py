"""People and motion: skeletons, detection, association, triangulation, filtering, solving,
export, sessions and takes, capture, the pipeline and the ``mocap`` CLI. No Qt."""

__version__ = "0.1.0"
