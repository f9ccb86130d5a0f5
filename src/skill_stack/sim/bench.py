"""Simulator benchmark without ROS: physics steps per second and RGB-D render time."""

import statistics
import time
from pathlib import Path
from typing import Dict

import numpy as np

from skill_stack.sim.world import World

CAMERA_HZ = 15.0  # the sim camera's default rate


def run(scene_path: Path, frames: int = 50, blocks: int = 50, steps_per_block: int = 100) -> Dict[str, float]:
    """Medians over ``frames`` renders and ``blocks`` of physics steps with the robot moving, and the real-time
    factor (simulated seconds per wall second) of physics with the camera rendering at 15 Hz."""
    with World(scene_path) as world:
        rng = np.random.default_rng(0)
        render_ms = []
        world.render()  # the first frame creates the GL context
        for _ in range(frames):
            start = time.perf_counter()
            world.render()
            render_ms.append((time.perf_counter() - start) * 1e3)
        steps_per_s = []
        lower, upper = world.joint_limits() if world.joint_names else (None, None)
        for _ in range(blocks):
            if lower is not None:
                world.set_joint_targets(rng.uniform(lower, upper) * 0.3)
            start = time.perf_counter()
            world.step(steps_per_block)
            steps_per_s.append(steps_per_block / (time.perf_counter() - start))
        # Free-running, as an evaluation without real-time pacing: physics plus a 15 Hz RGB-D camera.
        sim_seconds, start = 2.0, time.perf_counter()
        steps_per_frame = round(1.0 / (CAMERA_HZ * world.timestep))
        for _ in range(round(sim_seconds * CAMERA_HZ)):
            world.step(steps_per_frame)
            world.render()
        rtf = steps_per_frame * round(sim_seconds * CAMERA_HZ) * world.timestep / (time.perf_counter() - start)
        return {
            'rtf_with_camera': rtf,
            'render_rgbd_ms_p50': statistics.median(render_ms),
            'physics_steps_per_s_p50': statistics.median(steps_per_s),
            'physics_rate_hz': 1.0 / world.timestep,
        }
