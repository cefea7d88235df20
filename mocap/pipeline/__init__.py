"""Processing a take from videos to exports, stage by stage, shared by ``mocap process`` and the GUI.

Entry points: :func:`mocap.pipeline.run.run_take_iter` (a progress generator with a cancel token)
and :func:`mocap.pipeline.run.run_take`; settings in :class:`mocap.pipeline.config.PipelineConfig`;
the cache of stage results in :mod:`mocap.pipeline.cache`; the real Pose2Sim demo in
:mod:`mocap.pipeline.real_demo`.
"""
