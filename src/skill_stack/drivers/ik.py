"""Inverse and forward kinematics of the arm's end-effector, with mink.

IK runs on its own MjModel of the arm alone (built from the same URDF the
simulator uses), so it never touches a simulated world and works the same for
a real arm. Its joint ranges are the driver's software limits, so a solution
is always a target the driver accepts. mink solves one differential IK step
as a small QP (daqp); iterating it from a seed converges to the pose or stops
at max_iterations, and a pose not reached within tolerance is an IKError
rather than a best-effort target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import mink
import mujoco
import numpy as np

from skill_stack.drivers.config import IKConfig
from skill_stack.drivers.safety import CommandError, JointLimits
from skill_stack.sim import robots

EE_SITE = 'ee'
SOLVER = 'daqp'
# One IK iteration is a full Gauss-Newton step (the QP's dt only scales velocities;
# the configuration limit bounds the step itself, not a velocity).
_STEP = 1.0


class IKError(CommandError):
    """No joint positions put the end-effector at the requested pose (unreachable, or blocked by limits)."""


@dataclass(frozen=True)
class IKSolution:
    positions: np.ndarray  # the chain's joints, in JointLimits.names order
    position_error: float  # m, remaining distance of the ee from the target
    orientation_error: float  # rad, remaining rotation angle
    iterations: int


class ArmIK:
    """Pose IK of one site (default ``ee``) over the joints named in ``limits``; other joints stay frozen."""

    def __init__(self, config: IKConfig, limits: JointLimits, model: Optional[mujoco.MjModel] = None,
                 site: str = EE_SITE):
        self.config = config
        self.names = limits.names
        self.model = model if model is not None else robots.arm_kinematics(config.model).compile()
        self._site = self.model.site(site).id
        joints = [self.model.joint(name) for name in self.names]
        for joint, lower, upper in zip(joints, limits.lower, limits.upper, strict=True):
            # The tighter of the model's and the driver's limits, so every solution passes the driver.
            low, high = self.model.jnt_range[joint.id]
            self.model.jnt_range[joint.id] = (max(low, lower), min(high, upper))
            self.model.jnt_limited[joint.id] = True
        self._qpos = np.array([joint.qposadr[0] for joint in joints], int)
        self._lower = self.model.jnt_range[[joint.id for joint in joints], 0].copy()
        self._upper = self.model.jnt_range[[joint.id for joint in joints], 1].copy()
        chain_dofs = {int(joint.dofadr[0]) for joint in joints}
        frozen = [dof for dof in range(self.model.nv) if dof not in chain_dofs]
        self._configuration = mink.Configuration(self.model)
        self._task = mink.FrameTask(site, 'site', position_cost=1.0, orientation_cost=1.0)
        self._limits = [mink.ConfigurationLimit(self.model)]
        self._constraints = [mink.DofFreezingTask(self.model, frozen)] if frozen else []
        self._fk = mujoco.MjData(self.model)

    def forward(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position, quaternion w,x,y,z) of the site for the chain's joint ``positions``."""
        self._fk.qpos[self._qpos] = positions
        mujoco.mj_kinematics(self.model, self._fk)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self._fk.site_xmat[self._site])
        return self._fk.site_xpos[self._site].copy(), quat

    def solve(self, position: np.ndarray, quaternion: np.ndarray, seed: np.ndarray) -> IKSolution:
        """Joint positions that put the site at ``position`` with ``quaternion`` (w, x, y, z, normalised).

        Iterates from ``seed`` (usually the current joint positions, so the arm stays
        on its branch); IKError when the tolerances are not met within max_iterations.
        """
        target = mink.SE3.from_rotation_and_translation(mink.SO3(wxyz=np.asarray(quaternion, float)),
                                                        np.asarray(position, float))
        self._task.set_target(target)
        q = self.model.qpos0.copy()
        q[self._qpos] = np.clip(seed, self._lower, self._upper)
        configuration = self._configuration
        configuration.update(q)
        cfg = self.config
        for iteration in range(cfg.max_iterations + 1):
            position_error, orientation_error = self._errors(position, quaternion)
            if position_error <= cfg.position_tolerance and orientation_error <= cfg.orientation_tolerance:
                return IKSolution(configuration.data.qpos[self._qpos].copy(), position_error,
                                  orientation_error, iteration)
            if iteration == cfg.max_iterations:
                break
            try:
                velocity = mink.solve_ik(configuration, [self._task], _STEP, SOLVER, damping=cfg.damping,
                                         limits=self._limits, constraints=self._constraints)
            except mink.NoSolutionFound as exc:
                raise IKError(f'IK for ee position {np.round(position, 4).tolist()}: the QP has no solution '
                              f'({exc})') from exc
            configuration.integrate_inplace(velocity, _STEP)
        raise IKError(f'ee pose unreachable: position {np.round(position, 4).tolist()} quaternion '
                      f'{np.round(quaternion, 4).tolist()}; closest found is {position_error * 1000:.1f} mm and '
                      f'{orientation_error:.3f} rad away after {cfg.max_iterations} iterations (tolerance '
                      f'{cfg.position_tolerance * 1000:.1f} mm, {cfg.orientation_tolerance} rad)')

    def _errors(self, position: np.ndarray, quaternion: np.ndarray) -> tuple[float, float]:
        data = self._configuration.data
        position_error = float(np.linalg.norm(data.site_xpos[self._site] - position))
        current = np.zeros(4)
        mujoco.mju_mat2Quat(current, data.site_xmat[self._site])
        return position_error, rotation_angle(current, quaternion)


def rotation_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in radians of the rotation between two unit quaternions (w, x, y, z); q and -q are the same."""
    dot = min(abs(float(np.dot(a, b))), 1.0)
    return 2.0 * float(np.arccos(dot))
