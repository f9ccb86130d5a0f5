"""Evaluation: scenario files, success conditions on the ground truth, the runner and the report.

Plain Python (no rclpy at import); ``stack.launched_stack`` starts a real stack only when asked.
"""
