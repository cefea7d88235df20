"""Live mode: frame sets in, 3D people out, latest-wins, with timings. No Qt."""
