"""Device drivers: one interface per device kind, safety in front of every backend.

A backend talks to one device (the simulator, or a vendor SDK); a driver wraps
a backend with the limits, the command watchdog and the e-stop, so no command
reaches a backend without passing them. Nothing here imports rclpy.
"""
