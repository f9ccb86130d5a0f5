"""Scheduler: language goal -> plan of skill calls -> closed-loop execution with live corrections.

Plain Python, no rclpy; the ExecuteTask node wires it to ROS.  Public API:

- ``plan``: Step, Plan, PlanResult, RobotState (JSON round trip).
- ``planning.make_planner(name, **config)``: 'embedded' (grammar, default), 'vlm' (local model),
  'http' (OpenAI-compatible server); ``planner.plan(instruction, scene, skills, robot)``.
- ``corrections.parse_correction(text)``, ``amend.amend(plan, index, correction, scene, skills)``.
- ``runner.TaskRunner``: runs a plan with injected callables; ``correct(text)`` from any thread.
- ``correction_log.CorrectionLog`` / ``read_corrections``: the correction dataset.

Model backends import torch, transformers or the network only when selected.
"""

from skill_stack.scheduler.amend import Amendment, amend
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.correction_log import CorrectionLog, CorrectionRecord, read_corrections
from skill_stack.scheduler.corrections import Correction, parse_correction
from skill_stack.scheduler.plan import ObjectRef, Plan, PlanResult, RobotState, Step
from skill_stack.scheduler.planning import PLANNERS, Planner, make_planner
from skill_stack.scheduler.runner import CorrectionAck, TaskResult, TaskRunner

__all__ = ['PLANNERS', 'Amendment', 'Correction', 'CorrectionAck', 'CorrectionLog', 'CorrectionRecord', 'ObjectRef',
           'Plan', 'PlanResult', 'Planner', 'RobotState', 'SkillCatalog', 'Step', 'TaskResult', 'TaskRunner', 'amend',
           'make_planner', 'parse_correction', 'read_corrections']
