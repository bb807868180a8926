"""One tool call from policy to result: the executor, argument validation, results, the audit recorder."""
