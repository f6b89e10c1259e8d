"""The IVR over FastAGI: menu sessions, the survey, prompts."""
