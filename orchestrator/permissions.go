package orchestrator

import "slices"

// Agent actions of the role permission matrix.
const (
	PermQueryData       = "query_data"
	PermQueryGraph      = "query_graph"
	PermCallLLM         = "call_llm"
	PermAnalyse         = "analyse"
	PermCommentIncident = "comment_incident"
	PermUpdateIncident  = "update_incident"
	PermExecutePlaybook = "execute_playbook"
)

// rolePermissions is read-only after initialisation.
var rolePermissions = map[AgentRole][]string{
	RoleIOCExtractor:    {PermQueryData, PermCallLLM},
	RoleContextEnricher: {PermQueryData, PermQueryGraph, PermCallLLM},
	RoleReasoningAgent:  {PermQueryData, PermQueryGraph, PermAnalyse, PermCommentIncident, PermCallLLM},
	RoleResponseAgent:   {PermQueryData, PermAnalyse, PermUpdateIncident, PermExecutePlaybook, PermCallLLM},
	RoleCTEMCorrelator:  {PermQueryData, PermCallLLM},
	RoleATLASMapper:     {PermQueryData, PermQueryGraph, PermCallLLM},
}

// RolePermissions returns a copy of the role permission matrix.
func RolePermissions() map[AgentRole][]string {
	out := make(map[AgentRole][]string, len(rolePermissions))
	for r, p := range rolePermissions {
		out[r] = slices.Clone(p)
	}
	return out
}

// CheckPermission reports whether role may perform action; unknown roles
// may do nothing.
func CheckPermission(role AgentRole, action string) bool {
	return slices.Contains(rolePermissions[role], action)
}

// EnforcePermission returns a *PermissionError (ErrPermissionDenied) naming
// role and action when CheckPermission is false.
func EnforcePermission(role AgentRole, action string) error {
	if !CheckPermission(role, action) {
		return &PermissionError{Role: role, Action: action}
	}
	return nil
}
