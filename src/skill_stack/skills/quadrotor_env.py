"""The simulated environment quadrotor skills train and are evaluated in.

A `QuadrotorEnv` (a `SimEnv`, skills/sim_env.py: world, clock, perception's
view, ground truth) builds a seeded random scene (landing pads of random
colours, sizes and places inside the geofence) with a `QuadrotorDriver` on the
simulated flight controller (drivers/quadrotor_sim.py), which runs before every
500 Hz physics step.

Start states: take_off starts on the ground at the take-off point, disarmed.
fly_to, land and hover start in the air at a random point, reached with the
driver's own arm, take-off and position set-points; half the episodes hand
over once the vehicle has settled there, the other half mid-flight, still moving.

What a skill sees comes through the same doors as on the robot: `observe()`
builds a `RobotObservation` with `quadrotor.quadrotor_observation` from what
nav_msgs/Odometry and driver_status carry, and `perceive()` a `PerceivedScene`
(skills/sim_perception.py: true poses with a few millimetres of noise,
perception's keypoints and affordances). `ground_truth_*` is the privilege of
experts and data generation only; no skill method reads it.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver, load_quadrotor_config
from skill_stack.drivers.quadrotor_sim import SimQuadrotorBackend, make_sim_backend
from skill_stack.drivers.safety import CommandError
from skill_stack.sim.scene_file import COLORS, SceneFileError, SceneSpec, parse_scene
from skill_stack.sim.workspace import ROBOT_FOOTPRINTS
from skill_stack.skills.base import QuadrotorCommand, RobotObservation
from skill_stack.skills.quadrotor import quadrotor_observation, rotation_matrix
from skill_stack.skills.sim_env import SimEnv
from skill_stack.skills.sim_perception import POSITION_NOISE

logger = logging.getLogger(__name__)

QUADROTOR_SKILLS = ('take_off', 'fly_to', 'land', 'hover')
FIELD_HALF = 4.2  # m: pads and goals are drawn inside this square (the geofence is +-5 m)
START_RADIUS = 1.5  # m from the take-off point where airborne episodes start
START_HEIGHT = (0.6, 1.8)  # m
PAD_RADIUS = (0.15, 0.4)  # m
TARGET_DISTANCE = (0.8, 3.0)  # m, horizontal, from the start point to a pad or goal
SETUP_TIMEOUT = 12.0  # s of simulated time to reach the start state


class QuadrotorEnv(SimEnv):
    """A seeded quadrotor world for one skill; see the module docstring."""

    embodiment = 'quadrotor'
    skills = QUADROTOR_SKILLS

    def __init__(self, skill: str, position_noise: float = POSITION_NOISE, config: Optional[QuadrotorConfig] = None):
        super().__init__(skill, position_noise)
        self.config = config if config is not None else load_quadrotor_config()
        self.backend: Optional[SimQuadrotorBackend] = None

    # --- episodes -------------------------------------------------------------------

    def _start(self, rng: np.random.Generator) -> bool:
        """Landed for take_off; otherwise airborne at the task's start point (settled or mid-flight)."""
        return self.skill == 'take_off' or self._fly_to_start(self.task.info, rng)

    def _build(self, scene: SceneSpec) -> None:
        world = self._new_world(scene)
        self.backend = make_sim_backend(world, self.config)
        self.driver = QuadrotorDriver(self.backend, self.config, clock=lambda: world.time)
        self.driver.connect()
        self.driver.update()

    def _fly_to_start(self, info: Dict[str, Any], rng: np.random.Generator) -> bool:
        """Arm, take off and fly to the start point with the driver; hand over settled or mid-flight."""
        start = np.asarray(info['start'], float)
        yaw = float(info['start_yaw'])
        self.driver.arm()
        self.driver.takeoff(float(start[2]))
        handover = info.get('handover_s')
        elapsed = 0.0
        while elapsed < SETUP_TIMEOUT:
            state = self.driver.state()
            if state.position[2] > self.config.fence_z_min + 0.05:
                self.driver.command_position(start, yaw)
            self.advance(0.05)
            elapsed += 0.05
            state = self.driver.state()
            moving = float(np.linalg.norm(state.linear_velocity))
            if handover is not None:
                if elapsed >= handover and not state.landed:
                    return True
            elif float(np.linalg.norm(state.position - start)) < 0.05 and moving < 0.05:
                return True
        logger.info('%s: the start state was not reached in %.0f s', self.skill, SETUP_TIMEOUT)
        return False

    # --- the robot's view and acting ----------------------------------------------------------

    def observe(self) -> RobotObservation:
        """RobotObservation from what the quadrotor's ROS interface publishes: odom (pose, twist in the body
        frame) and driver_status (armed, landed)."""
        state = self.driver.state()
        status = self.driver.status().details
        rotation = rotation_matrix(state.quaternion)
        body_velocity = rotation.T @ np.asarray(state.linear_velocity, float)  # as nav_msgs/Odometry carries it
        return quadrotor_observation(state.position, state.quaternion, body_velocity, bool(status['armed']),
                                     float(state.stamp), landed=bool(status['landed']))

    def apply(self, command: QuadrotorCommand) -> None:
        """Send a QuadrotorCommand through the driver's safety layer (CommandError when refused), as the
        skill server maps it onto ROS: arm service, land service, or one position set-point."""
        if command.arm:
            self.driver.arm()
        if command.land:
            self.driver.land()
            return
        self.driver.command_position(command.position, command.yaw)

    def _step(self, steps: int) -> None:
        """The flight controller runs at the physics rate, like an onboard controller."""
        self.backend.step(steps)

    def hold(self, reason: str) -> None:
        """Stop the skill's motion without dropping the vehicle: in the air the driver hovers where it is
        (one set-point, no stream for the watchdog to miss); on the ground armed, the motors stop."""
        logger.warning('quadrotor held: %s', reason)
        state = self.driver.state()
        try:
            if state.armed and not state.landed:
                self.driver.hold()
            elif state.armed:
                self.driver.disarm()
        except CommandError as err:
            logger.warning('quadrotor hold refused (%s): landing', err)
            self.driver.land()
        self.advance(0.1)

    # --- ground truth: experts, data generation and benchmarks only --------------------------

    def ground_truth_state(self):
        """The vehicle's true state (position, quaternion, world velocity, armed, landed)."""
        return self.backend.read()

    # --- task generators ---------------------------------------------------------------------------

    def _generate(self, rng: np.random.Generator) -> Tuple[SceneSpec, Dict[str, Any], Dict[str, Any]]:
        colors = [str(c) for c in rng.permutation(list(COLORS))]
        info: Dict[str, Any] = {}
        pads: List[Dict[str, Any]] = []
        if self.skill == 'take_off':
            args: Dict[str, Any] = {'height': round(float(rng.uniform(0.4, 2.2)), 2)}
            start = np.zeros(2)
        else:
            r = START_RADIUS * math.sqrt(rng.uniform())
            a = rng.uniform(-math.pi, math.pi)
            start = np.array([r * math.cos(a), r * math.sin(a)])
            info['start'] = [float(start[0]), float(start[1]), float(rng.uniform(*START_HEIGHT))]
            info['start_yaw'] = float(rng.uniform(-math.pi, math.pi))
            if rng.uniform() < 0.5:  # hand over mid-flight, still moving
                flight = max(math.hypot(*start) / 1.0, info['start'][2] / 0.5) + 0.5
                info['handover_s'] = float(rng.uniform(0.4, 0.9) * flight)
            args = self._task_args(rng, start, colors, pads, info)
        for _ in range(int(rng.integers(1, 4))):  # distractor pads
            if colors:
                _add_pad(rng, pads, colors.pop(), lambda: rng.uniform(-FIELD_HALF, FIELD_HALF, 2))
        seed = int(rng.integers(0, 2**31 - 1))
        scene = parse_scene({'embodiment': 'quadrotor', 'seed': seed, 'objects': pads},
                            source=f'quadrotor task (seed {seed})')
        return scene, args, info

    def _task_args(self, rng, start, colors, pads, info) -> Dict[str, Any]:
        def near_start() -> np.ndarray:
            while True:
                r = rng.uniform(*TARGET_DISTANCE)
                a = rng.uniform(-math.pi, math.pi)
                xy = start + r * np.array([math.cos(a), math.sin(a)])
                if np.all(np.abs(xy) <= FIELD_HALF):
                    return xy

        def pad_target() -> str:
            color = colors.pop()
            if not _add_pad(rng, pads, color, near_start, attempts=500):
                raise RuntimeError(f'no room for a target pad near {start.tolist()}')
            info['pad'] = pads[-1]['name']
            return f'the {color} pad' if rng.uniform() < 0.5 else pads[-1]['name']

        def small_offset(scale: float) -> Optional[List[float]]:
            if rng.uniform() >= 0.3:
                return None
            return [round(float(v), 3) for v in rng.uniform(-scale, scale, 3)]

        if self.skill == 'hover':
            return {'duration': round(float(rng.uniform(1.0, 3.0)), 2)}
        if self.skill == 'fly_to':
            if rng.uniform() < 0.5:
                args: Dict[str, Any] = {'target': pad_target(), 'height': round(float(rng.uniform(0.5, 2.0)), 2)}
            else:
                xy = near_start()
                args = {'point': [round(float(xy[0]), 3), round(float(xy[1]), 3),
                                  round(float(rng.uniform(0.5, 2.5)), 3)]}
            shift = small_offset(0.4)
            if shift is not None:
                args['offset'] = shift
            return args
        # land
        kind = rng.uniform()
        if kind < 0.6:
            args = {'target': pad_target()}
            radius = pads[-1]['size'][0]
            shift = small_offset(0.5 * radius)
        elif kind < 0.8:
            xy = near_start()
            args = {'point': [round(float(xy[0]), 3), round(float(xy[1]), 3), 0.0]}
            shift = small_offset(0.3)
        else:
            args, shift = {}, None
        if shift is not None:
            args['offset'] = shift
        return args


def _add_pad(rng: np.random.Generator, pads: List[Dict[str, Any]], color: str, draw, attempts: int = 50) -> bool:
    """A pad of ``color`` at a drawn position, clear of the other pads and the take-off point.

    Scenes may put a home pad under the vehicle; task scenes keep the take-off point bare.
    """
    radius = round(float(rng.uniform(*PAD_RADIUS)), 3)
    for _ in range(attempts):
        xy = draw()
        pad = {'name': f'{color}_pad', 'shape': 'pad', 'color': color, 'size': [radius],
               'position': [round(float(xy[0]), 3), round(float(xy[1]), 3)]}
        if math.hypot(*pad['position']) < radius + ROBOT_FOOTPRINTS['quadrotor'].radius:
            continue
        if any(math.hypot(xy[0] - p['position'][0], xy[1] - p['position'][1]) < radius + p['size'][0] + 0.2
               for p in pads):
            continue
        try:
            parse_scene({'embodiment': 'quadrotor', 'objects': [*pads, pad]})
        except SceneFileError:
            continue
        pads.append(pad)
        return True
    return False
