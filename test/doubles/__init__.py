"""Test doubles of vendor SDKs: each replaces one SDK at its boundary, records calls and replays device responses."""
