"""Processing a take from videos to exports, stage by stage, shared by ``mocap process`` and the GUI.

Entry points: :func:`mocap.pipeline.run.run_take_iter` (a progress generator with a cancel token)
and :func:`mocap.pipeline.run.run_take`; :func:`mocap.pipeline.plan.plan_take` says which stages
would run or be reused without running anything; :func:`mocap.pipeline.run.final_poses_path`
finds a take's newest finished 3D poses. Settings in :class:`mocap.pipeline.config.PipelineConfig`
(``session.toml [pipeline]``); the cache of stage results in :mod:`mocap.pipeline.cache`; the
real Pose2Sim demo in :mod:`mocap.pipeline.real_demo`.
"""
