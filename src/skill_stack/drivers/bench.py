"""Benchmark of the arm driver on the simulated arm: IK solve time, update() time, reached EE error.

Run by `skill-stack bench --only drivers`. Each pose is a random reachable ee pose
(forward kinematics of random joints near home, inside the workspace box),
commanded through `ArmDriver.command_pose` and streamed at 100 Hz for 2 s of
simulated time; the ee is then read back from the simulator's ground truth.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import load_arm_config
from skill_stack.drivers.sim_backends import SimGripperBackend, SimJointBackend
from skill_stack.sim import robots
from skill_stack.sim.world import World

CONTROL_PERIOD = 0.01  # s, 100 Hz
SETTLE_TIME = 2.0  # s of simulated time per pose


def random_poses(driver: ArmDriver, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Reachable ee poses: forward kinematics of joints within +-0.6 rad of home, inside the box."""
    rng = np.random.default_rng(seed)
    home = np.array(robots.ARM_HOME)
    limits = driver.limits
    poses = []
    while len(poses) < count:
        joints = np.clip(home + rng.uniform(-0.6, 0.6, home.size), limits.lower, limits.upper)
        position, quaternion = driver.ik.forward(joints)
        if driver.config.workspace.contains(position) and position[2] > 0.08:
            poses.append((position, quaternion))
    return poses


def run(poses: int, seed: int, scene: Path) -> dict:
    solve_times, pose_times, update_times, errors, iterations = [], [], [], [], []
    config = load_arm_config()
    with World(scene) as world:
        ik = None
        for index in range(poses):
            world.reset()
            # A fresh driver per pose: no previous target, so IK starts from the measured home pose.
            driver = ArmDriver(SimJointBackend(world), SimGripperBackend(world), config, lambda: world.time, ik=ik)
            driver.connect()
            ik = driver.ik
            if index == 0:
                targets = random_poses(driver, poses, seed)
            position, quaternion = targets[index]
            start = time.perf_counter()
            ik.solve(position, quaternion, world.joint_positions())
            solve_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            target = driver.command_pose(position, quaternion)
            pose_times.append(time.perf_counter() - start)
            iterations.append(driver.last_ik.iterations)
            steps = max(1, round(CONTROL_PERIOD / world.timestep))
            for _ in range(round(SETTLE_TIME / CONTROL_PERIOD)):
                driver.command_joints(target)  # a streaming client re-sends its target every tick
                start = time.perf_counter()
                driver.update()
                update_times.append(time.perf_counter() - start)
                world.step(steps)
            errors.append(float(np.linalg.norm(world.site_pose('ee')[0] - position)))
    return {'poses': poses, 'ik_solve_median_ms': 1000 * float(np.median(solve_times)),
            'ik_solve_p95_ms': 1000 * float(np.percentile(solve_times, 95)),
            'ik_iterations_median': float(np.median(iterations)),
            'command_pose_median_ms': 1000 * float(np.median(pose_times)),
            'update_median_us': 1e6 * float(np.median(update_times)),
            'ee_error_median_mm': 1000 * float(np.median(errors)),
            'ee_error_max_mm': 1000 * float(np.max(errors))}

