//! LLM analysis and recommendations, grounding check, offline MITRE knowledge base.
