"""Teleoperation: keyboard and gamepad inputs to set-points, as plain Python (the node is nodes/teleop.py)."""
