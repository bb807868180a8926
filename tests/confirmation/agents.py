"""Agents the confirmation tests share."""

HR_CONFIRM = {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"}
