# The compiled kernel's Python-level contract: exactly the pure twin's (select_agent_py.py).
from hotline.core_ext.select_agent_py import ANY_SKILL as ANY_SKILL
from hotline.core_ext.select_agent_py import LEAST_CALLS as LEAST_CALLS
from hotline.core_ext.select_agent_py import LONGEST_IDLE as LONGEST_IDLE
from hotline.core_ext.select_agent_py import MAX_LEVEL as MAX_LEVEL
from hotline.core_ext.select_agent_py import MAX_SKILLS as MAX_SKILLS
from hotline.core_ext.select_agent_py import MOST_SKILLED as MOST_SKILLED
from hotline.core_ext.select_agent_py import ROUND_ROBIN as ROUND_ROBIN
from hotline.core_ext.select_agent_py import AgentIndex as AgentIndex
from hotline.core_ext.select_agent_py import Verdicts as Verdicts
