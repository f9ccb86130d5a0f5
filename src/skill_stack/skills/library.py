"""The skill library: every skill by name, with the simulated environment, scripted expert and training
budget that make and judge its policy.

Skill names are unique across embodiments (a planner addresses skills by name
and the robot). `skills()` is what the ExecuteSkill server and the
list_skills service expose; `entry(name)` is what training and the benchmark
need. Adding a skill is one `Entry` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

from skill_stack.skills import (
    arm,
    arm_env,
    arm_experts,
    hand,
    hand_env,
    hand_experts,
    quadrotor,
    quadrotor_env,
    quadrotor_experts,
)
from skill_stack.skills.base import Skill

EMBODIMENTS = ('arm', 'hand', 'quadrotor')


@dataclass(frozen=True)
class Entry:
    skill: Callable[[], Skill]  # the Skill class
    env: Callable[[str], object]  # environment factory, called with the skill's name
    expert: Callable[[], object]  # scripted expert factory (a Controller, see episodes.py)
    episodes: int  # default expert demonstrations for `skill-stack train`
    epochs: int  # default training epochs


LIBRARY: Dict[str, Entry] = {
    'reach': Entry(arm.ReachSkill, arm_env.ArmEnv, arm_experts.ReachExpert, 200, 40),
    'pick': Entry(arm.PickSkill, arm_env.ArmEnv, arm_experts.PickExpert, 300, 40),
    'place': Entry(arm.PlaceSkill, arm_env.ArmEnv, arm_experts.PlaceExpert, 300, 40),
    'push': Entry(arm.PushSkill, arm_env.ArmEnv, arm_experts.PushExpert, 300, 40),
    'grasp': Entry(hand.GraspSkill, hand_env.HandEnv, hand_experts.GraspExpert, 300, 40),
    'release': Entry(hand.ReleaseSkill, hand_env.HandEnv, hand_experts.ReleaseExpert, 300, 40),
    'rotate': Entry(hand.RotateSkill, hand_env.HandEnv, hand_experts.RotateExpert, 500, 40),
    'take_off': Entry(quadrotor.TakeOffSkill, quadrotor_env.QuadrotorEnv, quadrotor_experts.TakeOffExpert, 150, 40),
    'fly_to': Entry(quadrotor.FlyToSkill, quadrotor_env.QuadrotorEnv, quadrotor_experts.FlyToExpert, 200, 40),
    'land': Entry(quadrotor.LandSkill, quadrotor_env.QuadrotorEnv, quadrotor_experts.LandExpert, 250, 40),
    'hover': Entry(quadrotor.HoverSkill, quadrotor_env.QuadrotorEnv, quadrotor_experts.HoverExpert, 150, 40),
}


def names(embodiment: Optional[str] = None) -> list:
    """Skill names, in library order, optionally of one embodiment."""
    return [n for n, e in LIBRARY.items() if embodiment is None or e.skill.embodiment == embodiment]


def entry(name: str) -> Entry:
    if name not in LIBRARY:
        raise KeyError(f"unknown skill '{name}'; skills: {', '.join(LIBRARY)}")
    return LIBRARY[name]


def make_skill(name: str) -> Skill:
    return entry(name).skill()


def skills(embodiment: Optional[str] = None) -> Dict[str, Skill]:
    """One instance of each skill (of one embodiment), by name."""
    return {n: LIBRARY[n].skill() for n in names(embodiment)}


def embodiment_of(name: str) -> str:
    return entry(name).skill.embodiment
