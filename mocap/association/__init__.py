"""Multi-person association: across views (epipolar) and over time (stable ids)."""
