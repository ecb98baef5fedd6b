// Package policy decides which mentions escalate, to whom and why. A policy is
// a YAML document of routes, each matched by a CEL expression over the
// mention, its score, its reach and the author's history; it also defines what
// counts as a complaint, the complaint window and the escalation chains.
//
// Evaluation is pure: the service, the backtest and the tests share it.
package policy
