"""The studio's Qt views and controllers (PySide6). Computes nothing: calls mocap and calibration."""
