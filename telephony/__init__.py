"""telephony"""
