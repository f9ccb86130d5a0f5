"""Perception types <-> skill_stack messages (Scene, SceneObject, Keypoint, Affordance)."""

import math

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3

from skill_stack.msg import Affordance, Keypoint, Scene, SceneObject
from skill_stack.perception.types import Keypoint as KeypointT
from skill_stack.perception.types import PerceivedObject, PerceivedScene


def keypoint_to_msg(k: KeypointT) -> Keypoint:
    u, v = k.pixel if k.pixel is not None else (-1, -1)
    return Keypoint(name=k.name, position=Point(x=float(k.position[0]), y=float(k.position[1]),
                                                z=float(k.position[2])),
                    direction=Vector3(x=float(k.direction[0]), y=float(k.direction[1]), z=float(k.direction[2])),
                    width=float(k.width), confidence=float(k.confidence), u=int(u), v=int(v))


def msg_to_keypoint(m: Keypoint) -> KeypointT:
    pixel = (m.u, m.v) if m.u >= 0 and m.v >= 0 else None
    return KeypointT(name=m.name, position=np.array([m.position.x, m.position.y, m.position.z]),
                     direction=np.array([m.direction.x, m.direction.y, m.direction.z]), width=m.width,
                     confidence=m.confidence, pixel=pixel)


def object_to_msg(o: PerceivedObject) -> SceneObject:
    w, x, y, z = (float(v) for v in o.quaternion)
    pose = Pose(position=Point(x=float(o.position[0]), y=float(o.position[1]), z=float(o.position[2])),
                orientation=Quaternion(w=w, x=x, y=y, z=z))
    return SceneObject(
        id=o.id, label=o.label, color=o.color, pose=pose,
        extent=Vector3(x=float(o.extent[0]), y=float(o.extent[1]), z=float(o.extent[2])),
        confidence=float(o.confidence), keypoints=[keypoint_to_msg(k) for k in o.keypoints],
        affordances=[Affordance(name=n, score=float(s)) for n, s in sorted(o.affordances.items())])


def msg_to_object(m: SceneObject) -> PerceivedObject:
    p, q = m.pose.position, m.pose.orientation
    return PerceivedObject(
        id=m.id, label=m.label, color=m.color, position=np.array([p.x, p.y, p.z]),
        quaternion=np.array([q.w, q.x, q.y, q.z]), extent=np.array([m.extent.x, m.extent.y, m.extent.z]),
        confidence=m.confidence, keypoints=[msg_to_keypoint(k) for k in m.keypoints],
        affordances={a.name: a.score for a in m.affordances})


def scene_to_msg(scene: PerceivedScene, header) -> Scene:
    height = scene.support_height if scene.support_height is not None else math.nan
    return Scene(header=header, objects=[object_to_msg(o) for o in scene.objects], status=scene.status,
                 support_height=float(height))


def msg_to_scene(m: Scene) -> PerceivedScene:
    height = None if math.isnan(m.support_height) else float(m.support_height)
    stamp = m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
    return PerceivedScene(objects=[msg_to_object(o) for o in m.objects], status=m.status,
                          support_height=height, stamp=stamp)
