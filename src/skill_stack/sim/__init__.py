"""MuJoCo simulation core: scene files, robot models, the world that plays the hardware (no rclpy)."""
