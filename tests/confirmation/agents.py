"""Agents the confirmation tests share."""

# In-client confirmation must be chosen per agent (the default is "person"): these agents stand for a
# human-facing client whose operator opted in.
HR_CONFIRM = {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static",
              "confirm_via": "client"}
# The default: only a person out of band says yes.
HR_PERSON = {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"}
