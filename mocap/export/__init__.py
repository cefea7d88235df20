"""Writers of 3D motion (the full exporter set lands with the export issue)."""
