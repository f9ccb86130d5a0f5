"""Recording: serialized ROS 2 messages to MCAP files that standard tools read (Foxglove, mcap, rosbag2).

Plain Python (mcap, ament_index); no rclpy. The ``recorder`` node and ``skill-stack record`` feed it.
"""
