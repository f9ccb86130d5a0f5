"""Robot models: the project's URDFs (urdf/) plus what URDF cannot say.

URDF carries links, joints, limits and inertias and is what ROS tools read.
MuJoCo also needs drives (position servos, rotor thrust), named sites at the
frames the stack reports, a free joint for the quadrotor and visual styling;
those are added here with MjSpec so the URDF stays the single kinematic source.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import mujoco

GRAVITY = 9.81

# Visual geoms render; collision geoms go to group 3, which MuJoCo hides by default.
VISUAL_GROUP = 1
COLLISION_GROUP = 3
SITE_GROUP = 4  # hidden too: sites are frames for the stack, not something a camera sees


@dataclass(frozen=True)
class Servo:
    """Position-servo tuning of one joint: stiffness, and the motor's reflected inertia.

    Damping comes from `dampratio` (1 = critically damped, judged at the zero pose),
    as a well-tuned joint servo behaves; the force limit is the URDF effort.
    """

    kp: float
    armature: float
    dampratio: float = 1.0


ARM_JOINTS = ("joint1", "joint2", "joint3", "joint4", "joint5", "joint6")
# Harmonic-drive joints like the xArm6: stiff proximal joints, lighter wrist.
ARM_SERVOS = (Servo(2000.0, 0.25), Servo(2000.0, 0.25), Servo(1500.0, 0.15),
              Servo(600.0, 0.05), Servo(600.0, 0.05), Servo(300.0, 0.02))
# Gripper pointing straight down with its tool centre point at (0.3, 0, 0.3).
ARM_HOME = (0.0, -0.256, 0.4019, 0.0, 1.425, 0.0)
GRIPPER_JOINTS = ("left_finger_joint", "right_finger_joint")
GRIPPER_MAX_WIDTH = 0.085  # metres between the finger pads, fully open
GRIPPER_KP = 1000.0  # N per metre of width error; forcerange is the URDF effort
GRIPPER_FRICTION = 1.5  # rubber pads
PAD_TIME_CONSTANT = 0.005  # s, contact stiffness of finger pads (MuJoCo's default is 0.02)

HAND_WRIST_JOINTS = ("wrist_x", "wrist_y", "wrist_z", "wrist_yaw")
HAND_FINGERS = ("index", "middle", "ring", "thumb")
HAND_FINGER_JOINTS = tuple(f"{finger}_joint{i}" for finger in HAND_FINGERS for i in range(4))
HAND_JOINTS = HAND_WRIST_JOINTS + HAND_FINGER_JOINTS
HAND_WRIST_SERVOS = (Servo(4000.0, 0.5), Servo(4000.0, 0.5), Servo(4000.0, 0.5), Servo(60.0, 0.02))
# Hobby-servo fingers (Dynamixel class): soft, with the gearbox's reflected inertia.
HAND_FINGER_SERVO = Servo(3.0, 0.002)
HAND_FINGER_FRICTION = 1.2
HAND_HOME = (0.0, 0.0, 0.0, 0.0) + (0.0, 0.15, 0.15, 0.1) * 3 + (0.5, 0.2, 0.1, 0.1)

# X configuration, seen from above: (name, spin) with spin +1 counter-clockwise.
# Diagonal rotors share a spin so their drag torques cancel at equal thrust.
ROTORS = (("front_left", -1), ("front_right", +1), ("rear_right", -1), ("rear_left", +1))
THRUST_TO_WEIGHT = 2.5
ROTOR_DRAG_RATIO = 0.0125  # reaction torque per newton of thrust (m), 5-inch propellers
ROTOR_TIME_CONSTANT = 0.03  # s, motor and propeller spin-up lag

# The frame each embodiment reports as its position (docs/architecture.md: the run JSON's world).
ROBOT_SITES = {"arm": "ee", "hand": "palm", "quadrotor": "body"}
# Sites at URDF frames: site name -> link (body) name.
_SITES = {
    "arm": {"ee": "ee"},
    "hand": {"palm": "palm", **{f"{f}_tip": f"{f}_tip" for f in HAND_FINGERS}},
    "quadrotor": {"body": "base_link", **{f"rotor_{name}": f"rotor_{name}" for name, _ in ROTORS}},
}


def urdf_dir() -> Path:
    """urdf/ of the source tree, or of the installed package share directory."""
    source = Path(__file__).resolve().parents[3] / "urdf"
    if source.is_dir():
        return source
    # Imported here: only an installed package needs the ament index.
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("skill_stack")) / "urdf"


def robot_spec(embodiment: str) -> mujoco.MjSpec:
    """A fresh MjSpec of one robot with its drives, ready to compile or to build a scene into."""
    path = urdf_dir() / f"{embodiment}.urdf"
    spec = mujoco.MjSpec.from_file(str(path))
    _style_geoms(spec, _urdf_visual_colors(path))
    for site, body in _SITES[embodiment].items():
        spec.body(body).add_site(name=site, group=SITE_GROUP)
    if embodiment == "arm":
        _add_servos(spec, ARM_JOINTS, ARM_SERVOS)
        _add_gripper(spec)
    elif embodiment == "hand":
        _add_servos(spec, HAND_JOINTS, HAND_WRIST_SERVOS + (HAND_FINGER_SERVO,) * len(HAND_FINGER_JOINTS))
        _set_friction(spec, [f"{f}_distal" for f in HAND_FINGERS], HAND_FINGER_FRICTION)
    elif embodiment == "quadrotor":
        _add_rotors(spec)
        _add_imu(spec)
    else:
        raise ValueError(f"unknown embodiment {embodiment!r}")
    return spec


def arm_kinematics(model: str = "arm") -> mujoco.MjSpec:
    """The kinematic model the arm driver's IK uses: the simulated arm, or urdf/<model>.urdf of a real arm
    (ur5e, xarm6) with its `ee` frame as the site of the same name."""
    if model == "arm":
        return robot_spec("arm")
    spec = mujoco.MjSpec.from_file(str(urdf_dir() / f"{model}.urdf"))
    spec.body("ee").add_site(name="ee", group=SITE_GROUP)
    return spec


def home_pose(embodiment: str) -> dict[str, float]:
    """Joint positions the robot starts in and holds while the scene settles."""
    if embodiment == "arm":
        return dict(zip(ARM_JOINTS, ARM_HOME, strict=True))
    if embodiment == "hand":
        return dict(zip(HAND_JOINTS, HAND_HOME, strict=True))
    return {}


def actuated_joints(embodiment: str) -> tuple[str, ...]:
    """Joints driven by a position servo of the same name, in command order."""
    return {"arm": ARM_JOINTS, "hand": HAND_JOINTS}.get(embodiment, ())


@cache
def _urdf_visual_colors(path: Path) -> dict[str, list[list[float]]]:
    """RGBA of each link's <visual> elements, in file order (MuJoCo's importer drops materials)."""
    root = ET.parse(path).getroot()  # noqa: S314 - the project's own model file
    named = {m.get("name"): _rgba(m) for m in root.findall("material") if m.find("color") is not None}
    colors: dict[str, list[list[float]]] = {}
    for link in root.findall("link"):
        rgbas = []
        for visual in link.findall("visual"):
            material = visual.find("material")
            if material is None:
                rgbas.append([0.5, 0.5, 0.5, 1.0])
            elif material.find("color") is not None:
                rgbas.append(_rgba(material))
            else:
                rgbas.append(named[material.get("name")])
        colors[link.get("name")] = rgbas
    return colors


def _rgba(material: ET.Element) -> list[float]:
    return [float(v) for v in material.find("color").get("rgba").split()]


def _style_geoms(spec: mujoco.MjSpec, colors: dict[str, list[list[float]]]) -> None:
    """Colour the visual geoms from the URDF materials and hide the collision copies."""
    for body in spec.bodies:
        visuals = [g for g in body.geoms if g.contype == 0 and g.conaffinity == 0]
        for geom, rgba in zip(visuals, colors.get(body.name, []), strict=True):
            geom.rgba = rgba
            geom.group = VISUAL_GROUP
        for geom in body.geoms:
            if geom.contype or geom.conaffinity:
                geom.group = COLLISION_GROUP


def _add_servos(spec: mujoco.MjSpec, joints: tuple[str, ...], servos: tuple[Servo, ...]) -> None:
    """Position servos that also carry gravity compensation, within the joint's torque limit.

    A real arm controller feeds gravity forward; with `actgravcomp` MuJoCo books
    that torque on the actuator, so it counts against the URDF effort limit.
    """
    for body in spec.bodies[1:]:
        body.gravcomp = 1.0
    for name, servo in zip(joints, servos, strict=True):
        joint = spec.joint(name)
        joint.armature = servo.armature
        joint.actgravcomp = True
        actuator = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=servo.kp, dampratio=servo.dampratio)
        actuator.ctrlrange = joint.range
        actuator.ctrllimited = True
        actuator.forcerange = joint.actfrcrange
        actuator.forcelimited = True


def _add_gripper(spec: mujoco.MjSpec) -> None:
    """One servo on the finger opening: a tendon summing both fingers, so the command is the width."""
    tendon = spec.add_tendon(name="gripper_width")
    for name in GRIPPER_JOINTS:
        tendon.wrap_joint(name, 1.0)
        spec.joint(name).actgravcomp = True
    effort = spec.joint(GRIPPER_JOINTS[0]).actfrcrange
    actuator = spec.add_actuator(name="gripper", target="gripper_width", trntype=mujoco.mjtTrn.mjTRN_TENDON)
    actuator.set_to_position(kp=GRIPPER_KP, dampratio=1.0)
    actuator.ctrlrange = [0.0, GRIPPER_MAX_WIDTH]
    actuator.ctrllimited = True
    actuator.forcerange = effort
    actuator.forcelimited = True
    _set_friction(spec, ["left_finger", "right_finger"], GRIPPER_FRICTION)


def _set_friction(spec: mujoco.MjSpec, bodies: list[str], sliding: float) -> None:
    """Grippy, firm finger pads that set the contact parameters when they touch something.

    condim 4 adds torsional friction so grasped objects do not spin. MuJoCo's default
    contact softness scales with the mass of what is touched, so a 30 N squeeze would
    sink a 30 g cube millimetres into the pads; a short time constant keeps it near 0.3 mm.
    """
    for name in bodies:
        for geom in spec.body(name).geoms:
            if geom.contype or geom.conaffinity:
                geom.friction = [sliding, 0.01, 0.0001]
                geom.condim = 4
                geom.priority = 1
                geom.solref = [PAD_TIME_CONSTANT, 1.0]


def _add_rotors(spec: mujoco.MjSpec) -> None:
    """A free-flying body and four thrust actuators at the rotor hubs.

    Each actuator's gear maps its control (thrust in newtons) to a force along the
    rotor's z axis and the propeller's reaction torque about it, opposite to its spin.
    Thrust follows the command with a first-order lag (ROTOR_TIME_CONSTANT).
    """
    base = spec.body("base_link")
    base.add_freejoint(name="root")
    mass = spec.copy().compile().body_subtreemass[1]
    max_thrust = THRUST_TO_WEIGHT * mass * GRAVITY / len(ROTORS)
    for name, spin in ROTORS:
        actuator = spec.add_actuator(name=f"thrust_{name}", target=f"rotor_{name}", trntype=mujoco.mjtTrn.mjTRN_SITE)
        actuator.gear = [0.0, 0.0, 1.0, 0.0, 0.0, -spin * ROTOR_DRAG_RATIO]
        actuator.dyntype = mujoco.mjtDyn.mjDYN_FILTEREXACT
        actuator.dynprm[0] = ROTOR_TIME_CONSTANT
        actuator.ctrlrange = [0.0, max_thrust]
        actuator.ctrllimited = True


def _add_imu(spec: mujoco.MjSpec) -> None:
    """Accelerometer (specific force, m/s^2) and gyro (rad/s) at the body site, as a flight controller's IMU."""
    for name, kind in (("imu_accel", mujoco.mjtSensor.mjSENS_ACCELEROMETER),
                       ("imu_gyro", mujoco.mjtSensor.mjSENS_GYRO)):
        spec.add_sensor(name=name, type=kind, objtype=mujoco.mjtObj.mjOBJ_SITE, objname=ROBOT_SITES["quadrotor"])


def max_rotor_thrust(model: mujoco.MjModel) -> float:
    """Upper end of a rotor's thrust command in newtons (same for all four)."""
    return float(model.actuator(f"thrust_{ROTORS[0][0]}").ctrlrange[1])

