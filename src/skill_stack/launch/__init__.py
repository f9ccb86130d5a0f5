"""A runner for ROS 2 YAML launch files, for machines without ROS 2's launch."""
