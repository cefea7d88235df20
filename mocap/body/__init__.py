"""SMPL body model and its fit to triangulated joints (torch; imported only where wanted).

Modules: :mod:`~mocap.body.model_file` (the user's SMPL files, where to put them),
:mod:`~mocap.body.safe_pickle` (``.pkl`` without running code), :mod:`~mocap.body.layer` (the
model in torch), :mod:`~mocap.body.keypoints` (keypoint layout -> SMPL joint or vertex),
:mod:`~mocap.body.fitting` (staged fit; :mod:`~mocap.body.objective`,
:mod:`~mocap.body.gauss_newton`, :mod:`~mocap.body.jacobians`, :mod:`~mocap.body.priors`,
:mod:`~mocap.body.alignment`), :mod:`~mocap.body.result` (``smpl.npz``),
:mod:`~mocap.body.mesh` (meshes per frame) and, for tests and benchmarks without SMPL,
:mod:`~mocap.body.synthetic_model` and :mod:`~mocap.body.synthetic_motion`.
"""
