"""The original deployment guide's monitoring queries."""

# DESIGN §1: the original's checks, which must run unchanged against our schema.
CLASSIC_QUERIES = [
    """SELECT te.id, te.status, te.started_at, te.completed_at, aa.name AS tool_name
FROM tool_executions te JOIN assistant_architects aa ON te.assistant_architect_id = aa.id
ORDER BY te.started_at DESC LIMIT 10""",
    """SELECT pr.execution_id, pr.prompt_id, pr.status, pr.started_at, pr.completed_at,
       LENGTH(pr.output_data) AS output_length
FROM prompt_results pr JOIN tool_executions te ON pr.execution_id = te.id
ORDER BY pr.started_at DESC LIMIT 20""",
    """SELECT te.id, aa.name, te.error_message, te.started_at FROM tool_executions te
JOIN assistant_architects aa ON te.assistant_architect_id = aa.id WHERE te.status = 'failed'""",
    "SELECT id, model_id, provider, is_active FROM ai_models",
]
