"""Perception: RGB-D in, a scene of objects with keypoints and affordances out; grounding of phrases.

Plain Python (numpy, OpenCV, Open3D, optional transformers models); no rclpy.
"""
