"""Detector backends, one module each, created through :mod:`mocap.detection.registry`."""
