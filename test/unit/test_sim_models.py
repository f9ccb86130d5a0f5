"""Every robot model and every example scene compiles and survives a second of random controls.

The MuJoCo Menagerie habit: a model that raises a MuJoCo warning (contact or
constraint buffer full, bad control, unstable acceleration) or produces NaN
under random commands is broken, whatever else its tests say.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np
import pytest

from skill_stack.sim import robots
from skill_stack.sim.scene_file import EMBODIMENTS, load_scene
from skill_stack.sim.world import build_model

SCENES = sorted((Path(__file__).resolve().parents[2] / "config" / "scenes").glob("*.yaml"))


def _step_randomly(model: mujoco.MjModel, seconds: float = 1.0, seed: int = 0) -> mujoco.MjData:
    """Fresh random controls within ctrlrange every step for `seconds` of simulated time."""
    data = mujoco.MjData(model)
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    rng = np.random.default_rng(seed)
    lower, upper = model.actuator_ctrlrange.T
    for _ in range(round(seconds / model.opt.timestep)):
        data.ctrl[:] = rng.uniform(lower, upper)
        mujoco.mj_step(model, data)
    return data


def _assert_healthy(data: mujoco.MjData) -> None:
    warnings = {mujoco.mjtWarning(i).name: int(data.warning[i].number) for i in range(mujoco.mjtWarning.mjNWARNING)}
    assert not any(warnings.values()), warnings
    for name in ("qpos", "qvel", "qacc", "act"):
        assert np.all(np.isfinite(getattr(data, name))), name


def test_example_scenes_exist_for_every_embodiment():
    embodiments = {load_scene(path).embodiment for path in SCENES}
    assert embodiments == set(EMBODIMENTS)


@pytest.mark.parametrize("embodiment", EMBODIMENTS)
def test_robot_compiles_and_survives_random_controls(embodiment):
    model = robots.robot_spec(embodiment).compile()
    assert model.nu > 0
    _assert_healthy(_step_randomly(model))


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene_compiles_and_survives_random_controls(path):
    model = build_model(load_scene(path))
    assert model.opt.timestep <= 0.002
    _assert_healthy(_step_randomly(model))


@pytest.mark.parametrize("embodiment", EMBODIMENTS)
def test_urdf_joints_have_full_limits(embodiment):
    """ROS tools and the safety layer read limits from the URDF; every moving joint must carry them."""
    root = ET.parse(robots.urdf_dir() / f"{embodiment}.urdf").getroot()  # noqa: S314 - the project's own file
    for joint in root.findall("joint"):
        if joint.get("type") == "fixed":
            continue
        limit = joint.find("limit")
        assert limit is not None, joint.get("name")
        assert float(limit.get("lower")) < float(limit.get("upper")), joint.get("name")
        assert float(limit.get("effort")) > 0, joint.get("name")
        assert float(limit.get("velocity")) > 0, joint.get("name")


def test_arm_is_xarm6_class():
    model = robots.robot_spec("arm").compile()
    data = mujoco.MjData(model)
    assert 10.0 < model.body_subtreemass[model.body("base_link").id] < 14.0
    # Stretched straight up: shoulder height + upper arm + forearm + wrist + tool, about 1.15 m.
    for joint in robots.ARM_JOINTS:
        data.joint(joint).qpos = 0.0
    data.joint("joint3").qpos = -np.pi / 2
    mujoco.mj_forward(model, data)
    assert 1.0 < data.site("ee").xpos[2] < 1.3
    assert model.nu == len(robots.ARM_JOINTS) + 1  # six servos and the gripper
    assert model.actuator("gripper").ctrlrange[1] == pytest.approx(robots.GRIPPER_MAX_WIDTH)


def test_hand_has_sixteen_finger_servos_and_a_four_axis_wrist():
    model = robots.robot_spec("hand").compile()
    assert model.nu == 20
    hand_mass = model.body_subtreemass[model.body("palm").id]
    assert 0.7 < hand_mass < 1.3  # Allegro/LEAP class: palm and fingers
    for site in ("palm", "index_tip", "middle_tip", "ring_tip", "thumb_tip"):
        assert model.site(site).id >= 0


def test_quadrotor_mass_arms_and_thrust_to_weight():
    model = robots.robot_spec("quadrotor").compile()
    mass = model.body_subtreemass[model.body("base_link").id]
    assert mass == pytest.approx(0.8, abs=0.05)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    for name, _ in robots.ROTORS:
        arm = np.linalg.norm(data.site(f"rotor_{name}").xpos[:2] - data.site("body").xpos[:2])
        assert 0.12 <= arm <= 0.17
    total = robots.max_rotor_thrust(model) * len(robots.ROTORS)
    assert total / (mass * robots.GRAVITY) == pytest.approx(robots.THRUST_TO_WEIGHT)
    # Each rotor's reaction torque opposes its spin; diagonal pairs cancel.
    drag = [model.actuator(f"thrust_{name}").gear[5] for name, _ in robots.ROTORS]
    assert [np.sign(d) for d in drag] == [-spin for _, spin in robots.ROTORS]
    assert sum(drag) == pytest.approx(0.0)
