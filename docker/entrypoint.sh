#!/bin/bash
# Source ROS 2 and the built package, then run the command: `robot` (the default) launches the real-robot
# stack, <EMBODIMENT>_stack.launch.yaml driver:=real, from the environment; anything else runs as given
# (e.g. `ros2 launch skill_stack real_arm.launch.yaml robot_config:=...`, `ros2 topic list`, `bash`).
set -e
source "/opt/ros/${ROS_DISTRO}/setup.bash"
source /ws/install/setup.bash
if [ "$1" = robot ]; then
    args=("driver:=real" "robot_config:=${ROBOT_CONFIG}")
    [ -n "${CAMERA_CONFIG}" ] && args+=("camera_config:=${CAMERA_CONFIG}")
    [ -n "${CAMERA_EXTRINSICS}" ] && args+=("camera_extrinsics:=${CAMERA_EXTRINSICS}")
    # shellcheck disable=SC2206 # LAUNCH_ARGS is a space-separated list of name:=value
    exec ros2 launch skill_stack "${EMBODIMENT}_stack.launch.yaml" "${args[@]}" ${LAUNCH_ARGS}
fi
exec "$@"
