# Environment for the built workspace: the ROS 2 wheels in .venv plus the
# colcon install of skill_stack. Sourced by .venv/bin/skill-stack and the
# Makefile, so nothing needs activating. Expects SKILL_STACK_ROOT to be set.
_venv="$SKILL_STACK_ROOT/.venv"
_prefix="$SKILL_STACK_ROOT/install/skill_stack"
_site=$(echo "$_venv"/lib/python3.*/site-packages)
export PATH="$_venv/bin:$PATH"
export AMENT_PREFIX_PATH="$_prefix:$_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export LD_LIBRARY_PATH="$_prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$_prefix/lib/${_site#"$_venv"/lib/}${PYTHONPATH:+:$PYTHONPATH}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"  # headless rendering through EGL (Mesa on CPU)
unset _venv _prefix _site
